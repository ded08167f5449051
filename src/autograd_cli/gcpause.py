"""Pause Python's cyclic garbage collector while a million small records are built.

Records, dicts and lists made in bulk hold no cycles, but each allocation counts towards
the collector's thresholds, and every collection rescans all of them: the walk of a
million-node graph and its JSON document run about twice as fast without it. The same
holds for what `import torch` leaves behind (`freeze_once`).

Re-enabling the collector alone would only defer the work: the first allocation after the
pause starts a collection of the youngest generation, which then holds every record just
made, and later collections of the middle one scan them again. So the pause ends by moving
what it made straight to the oldest generation (`gc.freeze()` then `gc.unfreeze()`: two
list splices, nothing scanned), the place long-lived data ends up anyway; only a full
collection looks at it again. Where the process has frozen objects of its own (a server
that freezes before forking), they are left frozen and the records take the usual way.
Asking for that costs a walk over every frozen object (`gc.get_freeze_count` counts them
one by one: 20 ms once torch and a model are frozen), so a pause that made fewer than
`BULK` objects skips both: a young collection of so few is cheap.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: Objects a pause must have made for the move to the oldest generation to pay off.
BULK = 10_000

#: `freeze_once` has run in this process.
_frozen = False


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """As a `with` block or a decorator; re-enables the collector only if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # with the collector off, the youngest count is what the pause made and kept
            if gc.get_count()[0] >= BULK and gc.get_freeze_count() == 0:
                gc.freeze()  # every tracked object, the records included, set aside...
                gc.unfreeze()  # ...and back, all in the oldest generation
            gc.enable()


def freeze_once() -> None:
    """Exempt every object alive now from the collector's scans; the first call only.

    Called once torch is imported: the import leaves about 10^5 objects that live as long
    as the process, and the first full collection after it rescanned them all (0.1 s of
    CPU, a third of what `graph` spent beyond `import torch`). Frozen (`gc.freeze`), they
    are never scanned again; objects made afterwards are collected as before. Once only:
    a batch of jobs must not freeze its jobs' garbage. A flag says whether it ran: asking
    `gc.get_freeze_count()` walks every frozen object, 20 ms a call, which every job of a
    batch would pay.
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()
