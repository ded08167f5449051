"""The Typer app and what every command shares: options, error handling, output.

Nothing in `autograd_cli.cli` imports torch at module level (ruff's TID253 enforces it):
`--help` must answer instantly, so each command imports the layers it needs when it runs.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from autograd_cli.errors import EXIT_INTERNAL, CliError, UsageError

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="autograd-cli",
    help="See PyTorch's autograd at work: grad_fn graphs, gradients, grad modes, accumulation.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

_state = {"debug": False}

Seed = Annotated[int, typer.Option("--seed", help="Seed for every random tensor.")]
Json = Annotated[
    bool, typer.Option("--json", help="One JSON document on stdout (schema autograd-cli/1).")
]


def _report(message: str, hint: str | None) -> None:
    from rich.console import Console
    from rich.text import Text

    err = Console(stderr=True, soft_wrap=True)  # never break a message into hard lines
    err.print(Text.assemble(("error: ", "bold red"), message))
    if hint:
        err.print(Text.assemble(("hint: ", "bold"), hint))


def handled(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a `CliError` into its message and exit code, and a bug into exit 3."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CliError as error:
            _report(error.message, error.hint)
            raise typer.Exit(error.exit_code) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:
            if _state["debug"]:
                raise
            _report(
                f"internal error ({type(error).__name__}: {error})",
                "please report it with the command line you ran; --debug shows the traceback",
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def out(renderable: Any) -> None:
    from rich.console import Console

    Console().print(renderable)


def out_json(doc: dict[str, Any]) -> None:
    from autograd_cli.render.json import dumps

    sys.stdout.write(dumps(doc))


def is_debug() -> bool:
    return _state["debug"]


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and a rename: a failed run leaves no partial file."""
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent or ".", prefix=f".{path.name}.", delete=False
        ) as tmp:
            tmp.write(text)
        os.replace(tmp.name, path)
    except OSError as error:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp.name)
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show Python tracebacks of internal errors.")
    ] = False,
) -> None:
    """See PyTorch's autograd at work."""
    _state["debug"] = debug
