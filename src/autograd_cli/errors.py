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


class CliError(Exception):
    """A failure with a message meant for the user and a hint on how to fix it."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CliError):
    """Bad options or input: exit 2."""


class CheckFailed(CliError):
    """A requested check ran and did not hold: exit 1."""

    exit_code = EXIT_CHECK_FAILED
