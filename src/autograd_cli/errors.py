"""Errors the CLI turns into a short message and an exit code.

Everything the user can get wrong, and every torch error we can explain, becomes one of
these; the CLI layer prints it in one or two lines (no traceback) and exits with its code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograd_cli.records.reports import CheckRecord, ExpectRecord

from autograd_cli.records.source import Source, Span

#: Exit codes, documented in docs/exit-codes.md.
EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
#: The reader of stdout went away (`autograd-cli lesson | head`): 128 + SIGPIPE, as a shell
#: reports a tool that the signal stopped.
EXIT_BROKEN_PIPE = 141


#: A parameter named inside a message, as `param` marks it (private-use characters, which
#: no user text or torch message holds).
_PARAM = re.compile("\ue000([a-z_]+)\ue001")


def param(name: str) -> str:
    """A message's reference to the parameter `name` of the layer that raised it (`wrt`,
    `max_elements`, `zero_after`): the layers below the CLI know their parameters, not the
    options that fill them. The CLI spells it as its option (`--wrt`); `str(error)` as the
    bare name, as the Python API takes it."""
    return f"\ue000{name}\ue001"


def spell(text: str, spelling: Callable[[str], str]) -> str:
    """`text` with each `param(name)` replaced by `spelling(name)`."""
    return _PARAM.sub(lambda found: spelling(found[1]), text)


def did_you_mean(words: Iterable[str]) -> str:
    """The hint for a misspelt name, whoever noticed it: `did you mean 'sin'?`."""
    return "did you mean " + " or ".join(f"'{word}'" for word in words) + "?"


class CliError(Exception):
    """A failure with a message meant for the user and a hint on how to fix it.

    `source` and `span` point into the text the user typed (an expression), so the message
    can underline the offending part: `where` is that part as the `Source` a graph node
    would name.
    """

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        source: str | None = None,
        span: Span | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.source = source
        self.span = span

    def __str__(self) -> str:
        return spell(self.message, str)

    @property
    def where(self) -> Source | None:
        """The code the error is about, its offending part as the span."""
        if self.source is None or self.span is None:
            return None
        return Source(self.source, *self.span)

    def spelled(self, spelling: Callable[[str], str]) -> tuple[str, str | None]:
        """The message and the hint, each parameter spelled as the caller names it."""
        return spell(self.message, spelling), (
            None if self.hint is None else spell(self.hint, spelling)
        )

    def located(self, source: str, offset: int = 0) -> CliError:
        """Attach the text the span points into, once: the innermost caller knows it best.

        `offset` shifts the span when `source` is a longer text (`z=x@w` around `x@w`).
        """
        if self.span is not None and self.source is None:
            self.source = source
            self.span = (self.span[0] + offset, self.span[1] + offset)
        return self


class UsageError(CliError):
    """Bad options or input: exit 2."""


class CliWarning(CliError):
    """Not raised: something that ran but deserves a look (inf or nan), shown on stderr
    and listed in the JSON document's `warnings`.

    `code` names the kind for scripts (docs/json.md lists them); the words may change.
    """

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        code: str,
        source: str | None = None,
        span: Span | None = None,
    ) -> None:
        super().__init__(message, hint, source=source, span=span)
        self.code = code


class CheckFailed(CliError):
    """A requested check ran and did not hold: exit 1.

    `failures`: the records of the checks that did not hold, for a report that gives
    their numbers (a batch's JUnit report); the message only names them.
    """

    exit_code = EXIT_CHECK_FAILED

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        source: str | None = None,
        span: Span | None = None,
        failures: Sequence[CheckRecord | ExpectRecord] = (),
    ) -> None:
        super().__init__(message, hint, source=source, span=span)
        self.failures = tuple(failures)


class ProgramFailed(CliError):
    """A program raised, in torch or by Python's rules (backward twice, a failed assert):
    exit 1, like a check that did not hold; the program itself was valid input."""

    exit_code = EXIT_CHECK_FAILED


# --- torch's errors in plain words -----------------------------------------------------

#: The most of torch's message a user sees; what follows is cut at a sentence end or `...`.
TORCH_MESSAGE_CHARS = 200

#: What torch says when backward runs through a graph whose saved tensors are gone.
_FREED = ("backward through the graph a second time", "have already been freed")


#: What torch's CPU allocator says when it cannot get the memory, and the size it asked for.
_ALLOCATION = ("can't allocate memory", "enforce fail at alloc_cpu")
_ALLOCATION_BYTES = re.compile(r"allocate (\d+) bytes")


def allocation_error(error: BaseException, elements: float | None = None) -> UsageError | None:
    """A tensor the machine has no memory for, in words instead of the allocator's text;
    None for any other error. `elements`: the tensor's size, where the caller knows it."""
    text = str(error)
    if not isinstance(error, MemoryError) and not any(words in text for words in _ALLOCATION):
        return None
    found = _ALLOCATION_BYTES.search(text)
    count = f"{elements:,.0f} elements" if elements is not None else None
    size = f"{int(found[1]):,} bytes" if found else None
    what = f"{count} ({size})" if count and size else count or size
    return UsageError(
        f"not enough memory for a tensor{f' of {what}' if what else ''}",
        f"use smaller sizes, or a lower {param('max_elements')} to refuse such tensors before they "
        "are allocated",
    )


def torch_message(error: BaseException | str) -> str:
    """Torch's first sentence: without its C++ location and the advice that follows (the
    caller gives its own hint)."""
    text = str(error).strip() or type(error).__name__  # a bare exception: say which
    line = text.splitlines()[0].split("Exception raised from")[0].strip()
    line = re.split(r"(?<=[a-z0-9)\]])\. (?=[A-Z])", line, maxsplit=1)[0]
    if len(line) <= TORCH_MESSAGE_CHARS:
        return line
    return line[: TORCH_MESSAGE_CHARS - 3] + "..."


def explain_freed(error: BaseException | str) -> str | None:
    """Why torch refused a backward through a graph an earlier backward freed, and what to
    do instead; None for any other error."""
    if not any(words in str(error) for words in _FREED):
        return None
    return (
        "an earlier backward freed the tensors the graph had saved for it, so another "
        "backward through the same graph has nothing to work with: keep them with "
        "retain_graph=True, or rebuild the graph (run the forward again) before each call"
    )


#: What torch says when an op must save, for backward, a tensor made under inference_mode.
_INFERENCE_SAVED = "Inference tensors cannot be saved for backward"


def explain_inference_saved(error: BaseException | str) -> str | None:
    """Why torch refused an op on a tensor made under inference_mode, and what to do
    instead; None for any other error."""
    if _INFERENCE_SAVED not in str(error):
        return None
    return (
        "one of its inputs was made under inference_mode, and this op must save it for "
        "backward, which torch never does for an inference tensor: make it with no_grad(...) "
        "instead (or, in Python, clone() it outside inference_mode)"
    )


def backward_error(error: BaseException, where: str = "", what: str = "backward") -> UsageError:
    """Torch's backward error in plain words; `where`: ` at step 3 (#2 SinBackward0)`;
    `what`: the call that failed (`the Jacobian`)."""
    memory = allocation_error(error)
    if memory is not None:
        return UsageError(f"{what} failed{where}: {memory.message}", memory.hint)
    hint = explain_freed(error)
    if hint is None and "inplace operation" in str(error):
        hint = "`autograd-cli why --all` names the in-place operation"
    return UsageError(f"{what} failed{where}: {torch_message(error)}", hint)
