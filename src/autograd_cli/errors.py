"""Errors the CLI turns into a short message and an exit code.

Everything the user can get wrong, and every torch error we can explain, becomes one of
these; the CLI layer prints it in one or two lines (no traceback) and exits with its code.
"""

from __future__ import annotations

#: Exit codes, documented in README.md.
EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


#: Columns `[start, end)` of the part of a source text an error is about.
Span = tuple[int, int]


class CliError(Exception):
    """A failure with a message meant for the user and a hint on how to fix it.

    `source` and `span` point into the text the user typed (an expression), so the message
    can underline the offending part.
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
    """Not raised: something that ran but deserves a look (inf or nan), shown on stderr."""


class CheckFailed(CliError):
    """A requested check ran and did not hold: exit 1."""

    exit_code = EXIT_CHECK_FAILED
