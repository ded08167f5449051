"""The one place a Rich `Console` is made, so every view and message agrees on it.

One console for people (stdout), one for diagnostics and progress (stderr), and a plain
one for a file, which holds no colour codes. Rich itself follows `NO_COLOR`,
`FORCE_COLOR`, `COLUMNS` and pipes: nothing here re-implements that. A new console each
call, not a shared one: Rich fixes its colour system when it is made, and the streams and
environment it reads can change between commands run in one process (`run`, the tests).
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def console(*, stderr: bool = False, file: IO[str] | None = None) -> Console:
    """stdout's console, stderr's (`stderr=True`), or a colourless one writing to `file`."""
    from rich.console import Console

    if file is not None:
        return Console(file=file, color_system=None)
    return Console(stderr=stderr)
