"""Exports made piece by piece: each is written as it is made, never held whole in memory.

A million-node graph makes a JSON document of about half a gigabyte; built as one string
(and its dicts before that) it took several times the memory of the records themselves.
The exports instead walk the records in batches and hand each batch's text on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

#: Records made into text at a time: enough for the per-batch work (a pass over each
#: field's column, a `join`) to pay off, few enough that a batch's text is a few hundred
#: kilobytes at most.
BATCH = 2048


def batches(records: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]
