"""Plain-text labels of nodes, saved tensors and gradients, shared by every format.

No Rich here: the DOT and Mermaid exports import this module alone, and the tree adds
its colours to the same words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from autograd_cli.records.grads import GradRecord
from autograd_cli.records.graph import NodeRecord, SavedRecord
from autograd_cli.records.source import Span
from autograd_cli.records.tensors import Values, format_shape


def format_number(value: float | int | bool) -> str:
    """Four decimals, as torch prints small tensors; NaN and inf spelt as torch does."""
    if isinstance(value, bool):
        return str(value)
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.4f}"
    return "0.0000" if text == "-0.0000" else text  # a sign on nothing is noise


def format_magnitude(value: float) -> str:
    """Like `format_number`, but tiny and huge values in scientific notation: a vanishing
    gradient must not print as 0.0000."""
    if value != value or value in (float("inf"), float("-inf")) or value == 0:
        return format_number(value)
    return f"{value:.4f}" if 1e-3 <= abs(value) < 1e5 else f"{value:.3e}"


def format_bytes(count: int | None) -> str:
    """Bytes in binary units, as memory is counted: `512 B`, `1.5 KiB`, `3.0 MiB`."""
    if count is None:
        return "?"
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def format_count(count: int) -> str:
    """`161`, `34,176`, then `12.3M` and `1.48B` from ten million: a column stays narrow
    (the JSON keeps every digit)."""
    if count < 10_000_000:
        return f"{count:,}"
    if count < 1_000_000_000:
        return f"{count / 1e6:.1f}M"
    return f"{count / 1e9:.2f}B"


def grad_summary(grad: GradRecord) -> str:
    """`norm 0.2911  min 0.0027  max 0.2661`, then `has NaN`/`has inf` when present."""
    text = (
        f"norm {format_magnitude(grad.norm)}  min {format_magnitude(grad.min)}"
        f"  max {format_magnitude(grad.max)}"
    )
    flags = " and ".join(flag for flag, on in (("NaN", grad.nan), ("inf", grad.inf)) if on)
    return f"{text}  has {flags}" if flags else text


def format_values(values: Values) -> list[str]:
    """Numbers as torch prints them, four decimals: one line, or one a row for a matrix."""
    if not isinstance(values, list):
        return [format_number(values)]
    if len(values) > 1 and all(
        isinstance(row, list) and not any(isinstance(v, list) for v in row) for row in values
    ):
        rows = [_nested(row) for row in values]
        return [f"[{rows[0]},", *(f" {row}," for row in rows[1:-1]), f" {rows[-1]}]"]
    return [_nested(values)]


def _nested(values: Values) -> str:
    if not isinstance(values, list):
        return format_number(values)
    return "[" + ", ".join(_nested(v) for v in values) + "]"


def grad_lines(grad: GradRecord) -> list[str]:
    """`(3,) [0.2661, 0.0027, 0.0223]` when the values are known, else shape and summary."""
    shape = format_shape(grad.shape)
    if grad.values is None:
        return [f"{shape} {grad_summary(grad)}"]
    first, *rest = format_values(grad.values)
    pad = " " * (len(shape) + 1)
    return [f"{shape} {first}", *(pad + line for line in rest)]


def saved_summary(saved: SavedRecord) -> str:
    """`(3,) float32  12 B  = leaf w`, `freed by backward()`, or `modified in place (...)`."""
    if saved.freed:
        return "freed by backward()"
    if saved.stale is not None:
        return (
            f"modified in place (version {saved.stale.version}, "
            f"saved at {saved.stale.saved_version})"
        )
    text = f"{format_shape(saved.shape)} {saved.dtype}  {format_bytes(saved.nbytes)}"
    if saved.alias is not None:
        what = saved.alias if saved.alias_of is None else f"{saved.alias} {saved.alias_of}"
        text += f"  = {what}"
    return text


_shapes: dict[tuple[int, ...], str] = {}  # a big graph repeats a few shapes a million times


def node_lines(node: NodeRecord) -> list[str]:
    """`#1 AddBackward0`, then its name, shape, gradient and saved tensors, one a line."""
    lines = [f"#{node.id} {node.name}"]
    if node.leaf is not None:
        lines.append(node.leaf)
    elif node.tensor is not None:
        lines.append(f"= {node.tensor}")
    if node.shape is not None:
        shape = _shapes.get(node.shape) or _shapes.setdefault(node.shape, format_shape(node.shape))
        lines.append(f"{shape} {node.dtype}")
    if node.module is not None:
        lines.append(f"in {node.module.label}")
    if node.output_grads is not None:
        lines += [
            f"grad[{k}] {'None' if g is None else grad_summary(g)}"
            for k, g in enumerate(node.output_grads)
        ]
    elif node.grad is not None:
        lines.append(f"grad {grad_summary(node.grad)}")
    if node.saved:  # (a comprehension costs a call even when empty: this runs per node)
        lines += [f"saved {s.name} {saved_summary(s)}" for s in node.saved]
    return lines


class Alike:
    """A format's text of each node, made once for nodes that differ only in their id.

    Most nodes of a big graph carry nothing of their own beyond op, shape, dtype and
    module (no name, gradient or saved tensors): their text is `<lead><id> ` (the label's
    first line begins `#<id> `; `lead` is what comes before the id, the `#` as the format
    writes it) and then the same rest, so that rest is made once per kind of node.
    `text` makes a node's whole text, which starts with that.
    """

    def __init__(self, text: Callable[[NodeRecord], str], lead: str) -> None:
        self._text = text
        self._lead = lead
        self._tails: dict[tuple[object, ...], str] = {}

    def text(self, node: NodeRecord) -> str:
        if (
            node.leaf is not None
            or node.tensor is not None
            or node.grad is not None
            or node.output_grads is not None
            or node.saved
        ):
            return self._text(node)
        key = (node.name, node.shape, node.dtype, node.module)
        tail = self._tails.get(key)
        if tail is None:  # what follows `<lead><id> ` in this kind's text
            tail = self._tails[key] = self._text(node)[len(f"{self._lead}{node.id} ") :]
        return f"{self._lead}{node.id} {tail}"  # an f-string: measured faster than a `%`


def underline(source: str, span: Span, width: int) -> tuple[str, str]:
    """The source (cropped to `width` around the span, with …) and a line of carets under it."""
    # one cell per character, so the carets line up: control and wide characters become ?
    source = "".join(
        c if c.isprintable() and unicodedata.east_asian_width(c) not in "WF" else "?"
        for c in source
    )
    start, end = span
    end = max(end, start + 1)
    shown, left = crop(source, start, width)
    first, last = start - left, min(end - left, width)
    return shown, " " * first + "^" * max(last - first, 1)


def crop(text: str, focus: int, width: int) -> tuple[str, int]:
    """`text` in at most `width` characters, `focus` a third of the way in, `…` where it
    was cut; and the index in `text` of the first character kept."""
    left = 0
    if len(text) > width:
        left = max(0, min(focus - width // 3, len(text) - width + 1))
    shown = text[left : left + width]
    if left > 0:
        shown = "…" + shown[1:]
    if left + width < len(text):
        shown = shown[:-1] + "…"
    return shown, left
