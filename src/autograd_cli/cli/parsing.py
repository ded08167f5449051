"""The command-line parser's own mistakes, said in the tool's voice, and flags shown as flags.

Typer prints a wrong option in a box, with pydantic's words ("Invalid value for '--format':
Value error, 'svg' is not one of ..."), while every other mistake is an `error:` line and
a `hint:` line. `Group.main` turns the parser's errors into the same two lines. Typer 0.29's
Rich help also shows every flag as taking a value (`--json <bool>`); a flag takes none.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from autograd_cli.cli.coercion import install
from autograd_cli.errors import EXIT_USAGE, UsageError, did_you_mean

F = TypeVar("F", bound=Callable[..., Any])

#: What a user may type after a flag, thinking it takes a value (`--json true`).
_FLAG_VALUES = ("true", "false", "True", "False", "yes", "no", "1", "0")


def option_error(error: Exception) -> UsageError | None:
    """A parser error as an `error:` message and a `hint:`; None for any other exception.

    Duck-typed: the parser's exceptions are click's, which Typer 0.29 vendors privately.
    """
    format_message = getattr(error, "format_message", None)
    if format_message is None or not hasattr(error, "exit_code"):
        return None
    ctx = getattr(error, "ctx", None)
    command = ctx.command_path if ctx is not None else "autograd-cli"
    hint = f"see {command} --help"
    said_alone = str(getattr(error, "message", ""))
    message = said_alone or str(format_message())
    param = getattr(error, "param", None)
    if param is not None and said_alone:  # a bad value for one option
        name = "/".join(getattr(param, "opts", ()) or ()) or str(param.name)
        text = message.removeprefix("Value error, ")
        message = f"{name}: {text[:1].lower()}{text[1:]}"
    possibilities = getattr(error, "possibilities", None)
    head, said, tail = message.partition(" Did you mean ")
    if possibilities:
        hint = did_you_mean(sorted(possibilities))
    elif said:  # click's own list: "'graph', 'grad'?"
        message, hint = head, did_you_mean(w.strip(" '") for w in tail.rstrip("?").split(","))
    elif message.startswith("Got unexpected extra argument") and any(
        f"({value})" in message or f" {value})" in message for value in _FLAG_VALUES
    ):
        hint = "a flag takes no value: give it alone to turn it on, leave it out to keep it off"
    message = message.rstrip(".")
    return UsageError(message[:1].lower() + message[1:], hint)


def _prepared(params: list[Any]) -> list[Any]:
    """Flags shown without a value; plain values checked without pydantic (`coercion`)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return install(params)


class Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _prepared(super().get_params(ctx))


class Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _prepared(super().get_params(ctx))

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Typer's standalone mode, with the parser's errors reported as the tool's own."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.Abort:
            sys.stderr.write("Aborted!\n")
            sys.exit(1)
        except Exception as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # the help is already printed
                sys.exit(EXIT_USAGE)
            usage = option_error(error)
            if usage is None:
                raise
            from autograd_cli.cli.app import report

            report(usage)
            sys.exit(EXIT_USAGE)
        sys.exit(code if isinstance(code, int) else 0)


class App(typer.Typer):
    """A Typer app whose commands are `Command`s (flags shown without a value)."""

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[F], F]:
        decorator: Callable[[F], F] = super().command(name, cls=cls or Command, **kwargs)
        return decorator
