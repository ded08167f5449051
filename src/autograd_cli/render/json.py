"""JSON documents: the stable, scriptable form of every command's output.

Every document carries `"schema"`, `"command"`, `"version"` and `"warnings"`; docs/json.md
lists the fields. Two rules hold for every field: an optional one is always present (null
when it does not apply), and a number that is not finite is a string (`"NaN"`,
`"Infinity"`, `"-Infinity"`), never `null` and never a bare `NaN`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from autograd_cli import __version__
from autograd_cli.errors import CliWarning
from autograd_cli.gcpause import paused_gc
from autograd_cli.records.grads import GradRecord
from autograd_cli.records.graph import EdgeRecord, GraphRecord, NodeRecord, SavedRecord
from autograd_cli.records.modules import ModuleRecord
from autograd_cli.records.schema import SCHEMA
from autograd_cli.records.source import Source
from autograd_cli.records.tensors import Numbers, Summary, TensorRecord, Values
from autograd_cli.render.limits import Cut, ViewOptions, bounded
from autograd_cli.render.stream import batches

T = TypeVar("T")


def document(command: str, warnings: Sequence[CliWarning] = (), **fields: Any) -> dict[str, Any]:
    """The head every document shares; `version` says which release wrote it, `warnings`
    what the command also said on stderr as `warning:` lines."""
    return {
        "schema": SCHEMA,
        "command": command,
        "version": __version__,
        "warnings": [warning_doc(w) for w in warnings],
        **fields,
    }


def warning_doc(warning: CliWarning) -> dict[str, Any]:
    """`code` is stable, for scripts; `message` and `hint` are the words stderr shows."""
    return {"code": warning.code, "message": warning.message, "hint": warning.hint}


def dumps(doc: dict[str, Any] | list[Any]) -> str:
    """One compact JSON document on one line (so documents also stream as JSON Lines).

    NaN and inf, which strict JSON cannot hold, become the strings `"NaN"`, `"Infinity"`
    and `"-Infinity"` (docs/json.md says why); pipe through `jq` to read it.
    """
    try:
        return json.dumps(doc, separators=_COMPACT, allow_nan=False) + "\n"
    except ValueError:  # rare: only then pay for a walk over every value
        return json.dumps(_spelled(doc), separators=_COMPACT, allow_nan=False) + "\n"


_COMPACT = (",", ":")

#: How a number that is not finite is written: the spelling of protobuf's JSON mapping,
#: which `float()`, numpy's `astype(float)` and JavaScript's `Number()` all read back.
NONFINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _spelled(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return NONFINITE[repr(value)]
    if isinstance(value, dict):
        return {k: _spelled(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_spelled(v) for v in value]
    return value


def grad_doc(grad: GradRecord | None) -> dict[str, Any] | None:
    if grad is None:
        return None
    return {
        "shape": list(grad.shape),
        "norm": grad.norm,
        "min": grad.min,
        "max": grad.max,
        "nan": grad.nan,
        "inf": grad.inf,
        "values": grad.values,
    }


def source_doc(source: Source | None) -> dict[str, Any] | None:
    """`start`/`end` are columns into `code` (null: the whole line); `text` is the part;
    `line`, the line of the program `code` stands on (null: not from a program)."""
    if source is None:
        return None
    return {
        "code": source.code,
        "start": source.start,
        "end": source.end,
        "text": source.text,
        "line": source.line,
    }


def saved_doc(saved: SavedRecord) -> dict[str, Any]:
    return {
        "name": saved.name,
        "shape": list(saved.shape) if saved.shape is not None else None,
        "dtype": saved.dtype,
        "bytes": saved.nbytes,
        "alias": saved.alias,
        "alias_of": saved.alias_of,
        "freed": saved.freed,
        "stale": (
            None
            if saved.stale is None
            else {"version": saved.stale.version, "saved_version": saved.stale.saved_version}
        ),
    }


def module_doc(module: ModuleRecord | None) -> dict[str, Any] | None:
    """The module that made a node: `index` into the model's modules, its path and class."""
    if module is None:
        return None
    return {"index": module.index, "path": module.path, "class": module.cls}


def cut_doc(cut: Cut | None) -> dict[str, Any] | None:
    if cut is None:
        return None
    return {"nodes": cut.nodes, "of": cut.of, "by_op": cut.by_op, "by": list(cut.by)}


def node_doc(n: NodeRecord) -> dict[str, Any]:
    """One node; `output_grads` is null but for a node whose op made several outputs."""
    return {
        "id": n.id,
        "name": n.name,
        "shape": list(n.shape) if n.shape is not None else None,
        "dtype": n.dtype,
        "leaf": n.leaf,
        "tensor": n.tensor,
        "saved": [saved_doc(s) for s in n.saved] if n.saved is not None else None,
        "saved_bytes": n.saved_bytes,
        "grad": grad_doc(n.grad),
        "source": source_doc(n.source),
        "module": module_doc(n.module),
        "output_grads": None if n.output_grads is None else [grad_doc(g) for g in n.output_grads],
    }


def edge_doc(e: EdgeRecord) -> dict[str, Any]:
    return {
        "from": e.src,
        "to": e.dst,
        "input_nr": e.input_nr,
        "position": e.position,
        "constant": e.constant,
        "grad": grad_doc(e.grad),
    }


def _tail(graph: GraphRecord, cut: Cut | None) -> dict[str, Any]:
    """What follows the nodes and edges: the count per op, the saved bytes, the cut."""
    return {
        "ops": [
            {"name": op.name, "count": op.count, "saved_bytes": op.saved_bytes}
            for op in graph.ops()
        ],
        "saved_bytes": graph.saved_bytes,
        "cut": cut_doc(cut),
    }


def graph_doc(graph: GraphRecord, cut: Cut | None = None) -> dict[str, Any]:
    """Every node and edge, as a dict: for documents that hold a graph among other things."""
    return {
        "root": graph.root,
        "nodes": [node_doc(n) for n in graph.nodes],
        "edges": [edge_doc(e) for e in graph.edges],
        **_tail(graph, cut),
    }


def graph_chunks(graph: GraphRecord, options: ViewOptions | None = None) -> Iterator[str]:
    """The `graph` document in pieces, the same bytes as `to_json`, made as they are written.

    Memory stays flat beyond the records: only one batch of nodes or edges is ever a dict.
    """
    options = options or ViewOptions()
    shown, cut = bounded(graph, options.limits)
    with paused_gc():
        fields = {"seed": None, **options.fields}  # seed: null from the API, which has none
        head = dumps(document("graph", **fields, root=shown.root))
        yield head[: -len("}\n")] + ',"nodes":['
        yield from _joined(node_doc, shown.nodes)
        yield '],"edges":['
        yield from _joined(edge_doc, shown.edges)
        yield "]," + dumps(_tail(shown, cut))[1:]


def _joined(to_doc: Callable[[T], dict[str, Any]], records: Sequence[T]) -> Iterator[str]:
    """The records' documents as the inside of a JSON array, a batch at a time."""
    separator = ""
    for batch in batches(records):
        yield separator + dumps([to_doc(r) for r in batch])[1 : -len("]\n")]
        separator = ","


def to_json(graph: GraphRecord, options: ViewOptions | None = None) -> str:
    """The `graph` document: every node and edge, unless `options.limits` asks for less."""
    return "".join(graph_chunks(graph, options))


def tensor_doc(rec: TensorRecord) -> dict[str, Any]:
    return {
        "name": rec.name,
        "shape": list(rec.shape),
        "dtype": rec.dtype,
        "requires_grad": rec.requires_grad,
        "is_leaf": rec.is_leaf,
        "grad_fn": rec.grad_fn,
        "value": rec.values,
        "grad": rec.grad,
    }


def numbers_doc(numbers: Numbers) -> Values | dict[str, Any]:
    """Every value as nested lists, where the record kept them; else the summary, a dict."""
    if not isinstance(numbers, Summary):
        return numbers
    if numbers.values is not None:
        return numbers.values
    return {
        "shape": list(numbers.shape),
        "min": numbers.min,
        "max": numbers.max,
        "mean": numbers.mean,
        "norm": numbers.norm,
        "corner": numbers.corner,
        "corner_index": numbers.corner_index,
    }
