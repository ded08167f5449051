"""A program's backward calls as an accumulation ledger (`accumulate` on a program)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from autograd_cli.records.tensors import Numbers, Values
from autograd_cli.records.timeline import FoldedSteps, Ledger, LedgerRow, Timeline


def ledger(timeline: Timeline, calls: int, leaf: str | None = None) -> Ledger:
    """Every `.grad` change the timeline kept, with the k-times rule checked wherever one
    backward statement runs again on the same root with no zeroing between."""
    result = Ledger(timeline.program, timeline.seed, calls=calls)
    number = 0
    streak: dict[str, tuple[str, Numbers | None, int]] = {}  # tensor -> (code, first, k)
    for entry in timeline.entries:
        if isinstance(entry, FoldedSteps):
            streak.clear()  # the folded calls are not in the ledger: no rule across them
            continue
        for change in entry.grads:
            if leaf in (None, change.tensor):
                result.rows.append(
                    LedgerRow(None, entry.line, entry.code, None, change, change.how)
                )
            streak.pop(change.tensor, None)
        for call in entry.backward:
            number += 1
            for change in call.grads:
                if leaf not in (None, change.tensor):
                    continue
                note = "first" if _empty(change.before) else "accumulated"
                code, first, k = streak.get(change.tensor, (entry.code, change.after, 0))
                if note == "first" or code != entry.code:
                    code, first, k = entry.code, change.after, 0
                k += 1
                streak[change.tensor] = (code, first, k)
                if k >= 2:
                    holds = _times(change.after, first, k)
                    if holds is not None:
                        note = f"= {k} x the first" if holds else f"!= {k} x the first"
                        _rule(result, change.tensor, entry.line, code, k, holds)
                result.rows.append(
                    LedgerRow(number, entry.line, entry.code, call.root, change, note)
                )
    return result


def _rule(result: Ledger, tensor: str, line: int, code: str, k: int, holds: bool) -> None:
    text = f"{tensor}.grad after {k} calls of `{code}` (line {line}) is {k} x the first call's"
    key = f"{tensor}.grad after "
    result.rules = [r for r in result.rules if not (r[0].startswith(key) and f"`{code}`" in r[0])]
    result.rules.append((text, holds))


def _empty(numbers: Numbers | None) -> bool:
    """None, or all zeros (after zero_()): the next backward starts afresh."""
    if numbers is None:
        return True
    if not isinstance(numbers, list | int | float):
        return False
    return all(v == 0 for v in _flat(numbers))


def _times(after: Numbers | None, first: Numbers | None, k: int) -> bool | None:
    """Is `after` k times `first`, value by value? None where the values are summarised."""
    if not isinstance(after, list | int | float) or not isinstance(first, list | int | float):
        return None
    a, f = list(_flat(after)), list(_flat(first))
    if len(a) != len(f):
        return False
    return all(
        math.isclose(x, k * y, rel_tol=1e-5, abs_tol=1e-7) for x, y in zip(a, f, strict=True)
    )


def _flat(values: Values) -> Iterator[float]:
    stack = [values]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(reversed(value))
        else:
            yield float(value)
