"""The Typer app and what every command shares: options, error handling, output.

Nothing in `autograd_cli.cli` imports torch at module level (ruff's TID253 enforces it):
`--help` must answer instantly, so each command imports the layers it needs when it runs.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar, cast

import typer

from autograd_cli.cli.parsing import App, Group
from autograd_cli.cli.worker import on_large_stack
from autograd_cli.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    CliError,
    CliWarning,
    UsageError,
    allocation_error,
    spell,
)

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text

P = ParamSpec("P")
R = TypeVar("R")

#: Every command, each in the module `autograd_cli.cli.<name>`, in the order --help lists them.
COMMANDS = ("accumulate", "backward", "grad", "graph", "lesson", "modes", "run", "step", "why")


class _LazyCommands(MutableMapping[str, Any]):
    """The group's commands by name, each module imported when its command is first looked up.

    Running `graph` imports `autograd_cli.cli.graph` alone and converts that one function
    into a click command: the other modules and Typer's work on their options are skipped.
    Names are known without importing anything (`COMMANDS`), so completion and typo hints
    stay cheap; `--help` looks every command up, for its one-line help.
    """

    # Any: a click command; Typer vendors click and does not export its types
    def __init__(self, loaded: MutableMapping[str, Any]) -> None:
        self._loaded = loaded

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded and name in COMMANDS:
            importlib.import_module(f"autograd_cli.cli.{name}")  # registers it on `app`
            info = next(c for c in app.registered_commands if _name(c.callback) == name)
            self._loaded[name] = typer.main.get_command_from_info(
                info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*COMMANDS, *(n for n in self._loaded if n not in COMMANDS)])

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._loaded


def _name(callback: Callable[..., Any] | None) -> str | None:
    return getattr(callback, "__name__", None)


class _LazyGroup(Group):
    """The app's group over `_LazyCommands`; lists the names without importing the modules."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)


#: The widths a view is drawn at, whatever `COLUMNS` says: 0 would print nothing at all,
#: 1 would shred every message into one-letter lines, 10^8 would take gigabytes.
MIN_COLUMNS, MAX_COLUMNS = 40, 1000


def clamp_columns(environ: MutableMapping[str, str]) -> None:
    """Bring `COLUMNS` into [MIN_COLUMNS, MAX_COLUMNS], for Rich and Typer alike; a value
    that is not a number is left to them (they ignore it)."""
    value = environ.get("COLUMNS", "").strip()
    if value.isdigit():
        environ["COLUMNS"] = str(min(max(int(value), MIN_COLUMNS), MAX_COLUMNS))


class _App(App):
    """The Typer app, which first makes the terminal width sane (`clamp_columns`)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        clamp_columns(os.environ)
        return super().__call__(*args, **kwargs)


app = _App(
    name="autograd-cli",
    cls=_LazyGroup,
    help="See PyTorch's autograd at work: grad_fn graphs, gradients, grad modes, accumulation.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

_state = {"debug": False}

#: What `torch.manual_seed` accepts: a signed or an unsigned 64-bit integer.
SEED_MIN, SEED_MAX = -(2**63), 2**64 - 1


def _seed_in_range(seed: int) -> int:
    """A check rather than `min`/`max`, whose 20-digit range would crowd every --help."""
    if not SEED_MIN <= seed <= SEED_MAX:
        raise typer.BadParameter("torch takes a seed from -2**63 to 2**64-1")
    return seed


Seed = Annotated[
    int,
    typer.Option("--seed", callback=_seed_in_range, help="Seed for every random tensor."),
]
Json = Annotated[
    bool, typer.Option("--json", help="One JSON document on stdout (schema autograd-cli/2).")
]


def option_name(param: str) -> str:
    """The option that fills a layer's parameter: `zero_after` -> `--zero-after`."""
    return "--" + param.replace("_", "-")


def spelled(text: str) -> str:
    """A lower layer's text with each parameter it names (`errors.param`) as its option."""
    return spell(text, option_name)


def error_lines(error: CliError, label: str = "error", width: int = 80) -> list[Text]:
    """The message, the offending text underlined (when known), and the hint: the one form
    in which the tool says what went wrong, with each parameter spelled as its option."""
    from rich.text import Text

    from autograd_cli.render.labels import underline

    style = "bold red" if label == "error" else "bold yellow"
    message, hint = error.spelled(option_name)
    lines = [Text.assemble((f"{label}: ", style), message)]
    where = error.where
    if where is not None and where.span is not None:
        shown, carets = underline(where.code, where.span, max(width - 4, 20))
        lines += [Text("  " + shown), Text("  " + carets, style=style)]
    if hint:
        lines.append(Text.assemble(("hint: ", "bold"), hint))
    return lines


def report(error: CliError, label: str = "error") -> None:
    """`error_lines` on stderr."""
    from autograd_cli.render.console import console

    err = console(stderr=True)
    for line in error_lines(error, label, err.width):
        # soft_wrap: one message, one line, however narrow the terminal (it wraps for display)
        err.print(line, soft_wrap=True)


#: The warnings the running command has shown: its JSON document lists them too. One list
#: per command run (`run` runs its jobs' commands inside its own).
_warned: ContextVar[list[CliWarning]] = ContextVar("warned")


def warn(warning: CliWarning) -> None:
    """A `warning:` on stderr, kept for the command's JSON document (`warnings`) in the
    same words."""
    report(warning, "warning")
    message, hint = warning.spelled(option_name)
    warned().append(CliWarning(message, hint, code=warning.code))


def warned() -> list[CliWarning]:
    """What the running command warned about so far, in order."""
    try:
        return _warned.get()
    except LookupError:  # called outside a command (the Python API): nothing to keep
        return []


@dataclass
class Collected:
    """What a command run as a batch job hands back instead of writing it (`collecting`).

    `doc`: its JSON document, as data, so the job's JSON Lines line is written from it in
    one `dumps` (not dumps, loads, dumps). `streamed`: a document the command makes in
    pieces (graph's), as its text: see `emit_streamed`. `error`: the error it reported,
    so that the batch knows it from the error itself rather than from stderr's text.
    """

    documents: bool  # hand a document meant for stdout over, rather than write it
    doc: dict[str, Any] | None = None
    streamed: str | None = None
    error: CliError | None = None


#: Set by `run` around each job (`collecting`); None when a command runs on its own.
_collected: ContextVar[Collected | None] = ContextVar("collected", default=None)


@contextlib.contextmanager
def collecting(documents: bool) -> Iterator[Collected]:
    """Run a command inside: its error, and with `documents` its stdout document, are kept
    in what it yields.

    The command runs on a thread of its own (`cli.worker`), in a copy of this context, so
    it sees the same `Collected`.
    """
    collected = Collected(documents)
    token = _collected.set(collected)
    try:
        yield collected
    finally:
        _collected.reset(token)


def _collected_here(output: Path | None) -> Collected | None:
    """The batch job's `Collected` when a document meant for stdout is to be handed over."""
    collected = _collected.get()
    if collected is None or not collected.documents or output not in (None, STDOUT):
        return None
    return collected


def _report_kept(error: CliError) -> None:
    """`report(error)`, and `keep` it."""
    report(error)
    keep(error)


def keep(error: CliError) -> None:
    """Keep the error the command fails with for the batch job it runs as, if it is one:
    said on stderr by `handled`, or shown by the command itself (a failed program, in
    `step`'s view and document)."""
    collected = _collected.get()
    if collected is not None:
        collected.error = error


def handled(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a `CliError` into its message and exit code, and a bug into exit 3; run the
    command on a thread whose stack can free any graph the bounds allow (`cli.worker`)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return on_large_stack(lambda: _reported(command, *args, **kwargs))

    return wrapper


def _reported(command: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`command(...)`, with every error it raises reported as `handled` says, and the
    warnings it gives collected for its document (a list of its own: a batch job's command
    runs in a copy of `run`'s context)."""
    token = _warned.set([])
    try:
        return command(*args, **kwargs)
    except CliError as error:
        _report_kept(error)
        raise typer.Exit(error.exit_code) from None
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:
        # The reader closed the pipe (`| head`): stop quietly, as a tool stopped by SIGPIPE
        # would; stdout goes to /dev/null so Python's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
    except Exception as error:
        memory = allocation_error(error)
        if memory is not None:  # torch ran out of memory outside an expression
            _report_kept(memory)
            raise typer.Exit(memory.exit_code) from None
        if _state["debug"]:
            raise
        _report_kept(
            CliError(
                f"internal error ({type(error).__name__}: {error})",
                "please report it with the command line you ran; --debug shows the traceback",
            )
        )
        raise typer.Exit(EXIT_INTERNAL) from None
    finally:
        _warned.reset(token)


def out(renderable: Any) -> None:
    """A view on stdout; piped, as plain lines without the spaces Rich pads them with."""
    from autograd_cli.render.console import console

    stdout = console()
    if stdout.is_terminal:
        stdout.print(renderable)
        return
    with stdout.capture() as captured:
        stdout.print(renderable)
    sys.stdout.write(without_trailing_spaces(captured.get()))


def without_trailing_spaces(text: str) -> str:
    """Rich pads table cells and centred titles to the width: invisible, but noise in diffs."""
    return "".join(line.rstrip(" ") + "\n" for line in text.splitlines())


def is_debug() -> bool:
    return _state["debug"]


def _output_path(value: str) -> Path:
    """`-o FILE`, checked as the command line is read: nothing runs for a file it cannot write."""
    try:
        return checked_output(value)
    except UsageError as error:
        raise typer.BadParameter(error.message) from None


#: What `-o -` gives: write to stdout.
STDOUT = Path("-")

#: Where a name means a stream or a device, however it resolves (`/dev/stdout` is a link to
#: whatever stdout is, even a regular file): written directly, never replaced.
_DEVICE_DIRS = ("/dev/", "/proc/")


def checked_output(value: str) -> Path:
    """An output path that can be written, or a `UsageError` saying why not.

    Checked before any work starts (a batch checks every job's output before its first job),
    so a bad path costs nothing and leaves nothing half-done. `-` is stdout.
    """
    if value == "":
        raise UsageError("empty file name: give a file, or - for stdout")
    if value == "-":
        return STDOUT
    if "\0" in value:
        raise UsageError(f"{_shown(repr(value))} is not a file name: it holds a NUL character")
    path = Path(value)
    try:
        target = path.resolve()
        if target.is_dir():
            raise UsageError(f"{_shown(repr(value))} is a directory: give a file in it")
        if not _direct(path, target):
            _check_name(target)
            if not target.parent.is_dir():
                raise UsageError(
                    f"cannot write {_shown(value)}: no such directory: {_shown(target.parent)}"
                )
            writable = os.access(target if target.exists() else target.parent, os.W_OK)
        else:  # `/dev/stdout` may resolve to `pipe:[...]`: ask the name itself
            writable = os.access(path, os.W_OK)
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop (Path.resolve)
        raise UsageError(f"cannot write {_shown(value)}: {_reason(error)}") from None
    if not writable:
        raise UsageError(f"cannot write {_shown(value)}: permission denied")
    return path


def _shown(value: object) -> str:
    """A path in a message, its middle cut when long: one message, one line."""
    text = str(value)
    return text if len(text) <= 64 else f"{text[:30]}...{text[-30:]}"


def _check_name(target: Path) -> None:
    """A name the file system would refuse is refused now, in its words."""
    limit = os.pathconf(target.parent, "PC_NAME_MAX") if target.parent.is_dir() else 255
    if len(os.fsencode(target.name)) > limit:
        raise OSError(36, f"the file name is longer than {limit} bytes")


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError):
        return str(error.strerror or error)
    return "a symbolic link loop" if "loop" in str(error).lower() else str(error)


def _direct(path: Path, target: Path) -> bool:
    """Write into it, rather than replace it: anything but a regular file (a FIFO, a
    device), or any name under /dev or /proc."""
    if str(path.absolute()).startswith(_DEVICE_DIRS) or str(target).startswith(_DEVICE_DIRS):
        return True
    return target.exists() and not stat.S_ISREG(target.stat().st_mode)


Output = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        parser=_output_path,
        metavar="FILE",
        help="Write to FILE instead of stdout (replaced whole, or left as it was on error); "
        "- is stdout.",
    ),
]


def plain_text(renderable: RenderableType) -> str:
    """A Rich view as a file holds it: no colour codes, as wide as the terminal (`COLUMNS`)."""
    from autograd_cli.render.console import console

    buffer = io.StringIO()
    console(file=buffer).print(renderable)
    return without_trailing_spaces(buffer.getvalue())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The most of a file's name a temporary name beside it repeats: the name limit is 255
#: bytes, and the temporary file adds a dot, a random part and `.tmp`.
_TEMP_NAME_CHARS = 64


#: What to do when the file system refuses a write that the checks before the work allowed.
_WRITE_HINT = "free some space on that file system, or give another file; - is stdout"


def write_output(path: Path, text: str | Iterator[str]) -> None:
    """The one writer of every output file (`-o`, `--junit-xml`, a job's `output`).

    A regular file (or a new one) is replaced atomically: `text` goes to a temporary file
    beside it, then one `os.replace`, so a reader sees the old file or the new one, never
    half of it; if anything fails, the old file is left untouched and the temporary file
    removed. The new file gets the old one's permissions (or the usual ones, as `open()`
    would give). Anything else (a FIFO, `/dev/null`, `/dev/stdout`) is written into
    directly, as a shell's `>` would; a failed write (`/dev/full`) is an error, exit 2.
    """
    checked_output(str(path))
    target = path.resolve()
    if _direct(path, target):
        try:
            with open(path, "w", encoding="utf-8", newline="") as file:
                file.writelines([text] if isinstance(text, str) else text)
        except OSError as error:
            raise UsageError(
                f"cannot write {_shown(path)}: {_reason(error)}", _WRITE_HINT
            ) from None
        return
    try:
        mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
        fd, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name[:_TEMP_NAME_CHARS]}.", suffix=".tmp"
        )
    except OSError as error:
        raise UsageError(f"cannot write {_shown(path)}: {_reason(error)}", _WRITE_HINT) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            file.writelines([text] if isinstance(text, str) else text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise UsageError(
                f"cannot write {_shown(path)}: {_reason(error)}", _WRITE_HINT
            ) from None
        raise


def emit(result: RenderableType | str | Iterator[str], output: Path | None) -> None:
    """A command's result to stdout, or whole into `output` (text only, no colour).

    An export made in pieces (an iterator of text) is written piece by piece as it is made:
    to stdout, or into the temporary file that then replaces `output`.
    """
    if output is None or output == STDOUT:
        if isinstance(result, str | Iterator):
            sys.stdout.writelines([result] if isinstance(result, str) else result)
        else:
            out(result)
        return
    write_output(output, result if isinstance(result, str | Iterator) else plain_text(result))
    from rich.text import Text

    from autograd_cli.render.console import console

    console(stderr=True).print(Text(f"wrote {output}", style="dim"))


def view_of(name: str, *args: object, **options: object) -> Callable[[], RenderableType]:
    """The view `autograd_cli.render.<module>:<function>` of `args`, its module imported
    only when the view is shown, so that `--json` loads no Rich (as `render.formats`)."""

    def view() -> RenderableType:
        module, function = name.split(":")
        render = getattr(importlib.import_module(f"autograd_cli.render.{module}"), function)
        return cast("RenderableType", render(*args, **options))

    return view


def emit_result(
    command: str,
    json: bool,
    output: Path | None,
    doc: Callable[[], dict[str, Any]],
    view: Callable[[], RenderableType],
) -> None:
    """The command's JSON document with `--json`, else its view: only the one shown is built."""
    if json:
        from autograd_cli.render.json import document

        emit_document(document(command, warned(), **doc()), output)
    else:
        emit(view(), output)


def emit_document(doc: dict[str, Any], output: Path | None) -> None:
    """A JSON document to stdout or into `output`; for stdout in a batch job, handed over
    as data instead (`collecting`)."""
    collected = _collected_here(output)
    if collected is not None:
        collected.doc = doc
        return
    from autograd_cli.render.json import dumps

    emit(dumps(doc), output)


def emit_streamed(chunks: Iterator[str], output: Path | None) -> None:
    """A JSON document made in pieces (`render.json.graph_chunks`), written as it is made;
    for stdout in a batch job, handed over as its text.

    Kept as text, not data: a large graph's dicts take several times the memory of its
    text (`render.stream`), and its text is the job's JSON Lines line but for the job's
    fields, which `render.batch.job_line` appends to it. Nothing parses it back.
    """
    collected = _collected_here(output)
    if collected is not None:
        collected.streamed = "".join(chunks)
        return
    emit(chunks, output)


def _print_version(value: bool) -> None:
    if value:
        from autograd_cli import __version__

        sys.stdout.write(f"autograd-cli {__version__}\n")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show Python tracebacks of internal errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """See PyTorch's autograd at work."""
    _state["debug"] = debug
