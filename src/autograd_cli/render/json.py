"""JSON documents: the stable, scriptable form of every command's output.

Every document carries `"schema": "autograd-cli/1"` and `"command"`; README.md lists the
fields. Field names only grow within a schema version.
"""

from __future__ import annotations

import json
from typing import Any

from autograd_cli.records import SCHEMA, GraphRecord, Numbers, Summary, TensorRecord, Values


def document(command: str, **fields: Any) -> dict[str, Any]:
    return {"schema": SCHEMA, "command": command, **fields}


def dumps(doc: dict[str, Any]) -> str:
    """One JSON document and a newline; NaN/inf become null, as strict JSON requires."""
    try:
        return json.dumps(doc, indent=2, allow_nan=False) + "\n"
    except ValueError:  # rare: only then pay for a walk over every value
        return json.dumps(_finite(doc), indent=2, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def graph_doc(graph: GraphRecord) -> dict[str, Any]:
    return {
        "root": graph.root,
        "nodes": [
            {
                "id": n.id,
                "name": n.name,
                "shape": list(n.shape) if n.shape is not None else None,
                "dtype": n.dtype,
                "leaf": n.leaf,
                "tensor": n.tensor,
            }
            for n in graph.nodes
        ],
        "edges": [
            {
                "from": e.src,
                "to": e.dst,
                "input_nr": e.input_nr,
                "position": e.position,
                "constant": e.constant,
            }
            for e in graph.edges
        ],
    }


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
    """Every value as nested lists; a summary (only in views, never asked for here) as a dict."""
    if not isinstance(numbers, Summary):
        return numbers
    return {
        "shape": list(numbers.shape),
        "min": numbers.min,
        "max": numbers.max,
        "mean": numbers.mean,
        "norm": numbers.norm,
        "corner": numbers.corner,
        "corner_index": numbers.corner_index,
    }
