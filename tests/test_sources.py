"""Each grad_fn node is attributed to the code that created it."""

from __future__ import annotations

from typing import Any

import torch

from autograd_cli.build.lesson import LESSON_SOURCE, build_lesson
from autograd_cli.build.sources import SourceMap
from autograd_cli.records.source import Source
from conftest import Invoke, run_json


def _walk(root: torch.Tensor) -> list[Any]:
    nodes, stack, seen = [], [root.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        stack.extend(child for child, _ in node.next_functions)
    return nodes


def test_lesson_nodes_map_to_their_lines() -> None:
    sources = SourceMap()
    net = build_lesson(0, sources)
    made_by = {}
    for node in _walk(net.loss):
        source = sources.get(node)
        assert source is not None
        name = node.name().rsplit("::", 1)[-1]
        if name == "AccumulateGrad":
            name += "(" + ("w" if node.variable is net.w else "b") + ")"
        made_by[name] = source.text
    assert made_by == {
        "BinaryCrossEntropyWithLogitsBackward0": LESSON_SOURCE["loss"],
        "AddBackward0": LESSON_SOURCE["z"],
        "SqueezeBackward4": LESSON_SOURCE["z"],  # torch's helper for the 1-D matmul
        "MmBackward0": LESSON_SOURCE["z"],
        "AccumulateGrad(w)": LESSON_SOURCE["w"],
        "AccumulateGrad(b)": LESSON_SOURCE["b"],
    }


def test_steps_claim_only_their_own_nodes() -> None:
    code = "sin(a * b) + a"
    a = torch.ones(2, requires_grad=True)
    sources = SourceMap()
    sources.define_leaf(a, Source("a = ones(2)"))
    product = a * 3.0
    sources.record(product, Source(code, 4, 9))
    sine = product.sin()
    sources.record(sine, Source(code, 0, 10))
    total = sine + a
    sources.record(total, Source(code, 0, 14))
    assert total.grad_fn is not None and product.grad_fn is not None
    assert sources.get(total.grad_fn) == Source(code, 0, 14)
    assert sources.get(product.grad_fn) == Source(code, 4, 9)
    assert sources.get(product.grad_fn).text == "a * b"  # type: ignore[union-attr]
    accumulate = product.grad_fn.next_functions[0][0]
    assert sources.get(accumulate) == Source("a = ones(2)")


def _made_by(doc: dict[str, Any]) -> dict[str, str]:
    """`graph --json` as {node: the text of its source}; leaves by name."""
    made = {}
    for node in doc["nodes"]:
        source = node["source"]
        assert source is not None, node  # every node knows its source
        if source["start"] is not None:
            assert source["text"] == source["code"][source["start"] : source["end"]]
        made[node["leaf"] or f"{node['id']} {node['name']}"] = source["text"]
    return made


def test_expression_spans_for_every_node(cli: Invoke) -> None:
    doc = run_json(cli, "graph", "--expr", "sum(x @ w)", "--var", "x=ones(5)",
                   "--var", "w=randn(5, 3)", "--wrt", "w")  # fmt: skip
    assert _made_by(doc) == {
        "0 SumBackward0": "sum(x @ w)",
        "1 SqueezeBackward4": "x @ w",  # torch's helper for the 1-D matmul
        "2 MmBackward0": "x @ w",
        "w": "w=randn(5, 3)",
    }
    doc = run_json(cli, "graph", "--expr", "sin(a * b).sum() + a.mean()", "--var", "a=ones(2)",
                   "--var", "b=full((2,), 3.0)")  # fmt: skip
    assert _made_by(doc) == {
        "0 AddBackward0": "sin(a * b).sum() + a.mean()",
        "1 SumBackward0": "sin(a * b).sum()",
        "2 SinBackward0": "sin(a * b)",
        "3 MulBackward0": "a * b",
        "a": "a=ones(2)",
        "b": "b=full((2,), 3.0)",
        "6 MeanBackward0": "a.mean()",
    }


def test_spans_of_variables_and_in_place_changes(cli: Invoke) -> None:
    doc = run_json(cli, "graph", "--expr", "sum(k)", "--var", "a=ones(2)", "--var", "y=a * 2",
                   "--var", "k=y.mul_(3)")  # fmt: skip
    nodes = doc["nodes"]
    assert [n["name"] for n in nodes] == ["SumBackward0", "MulBackward0", "MulBackward0",
                                          "AccumulateGrad"]  # fmt: skip
    assert nodes[1]["source"] == {"code": "k=y.mul_(3)", "start": 2, "end": 11,
                                  "text": "y.mul_(3)", "line": None}  # fmt: skip
    assert nodes[2]["source"]["text"] == "a * 2" and nodes[2]["source"]["code"] == "y=a * 2"


def test_underline_a_node(cli: Invoke) -> None:
    args = ["graph", "--expr", "sum(x @ w)", "--var", "x=ones(5)", "--var", "w=randn(5, 3)"]
    result = cli(*args, "--underline", "2")
    assert result.exit_code == 0
    assert result.stdout.endswith("#2 MmBackward0 was made by\n  sum(x @ w)\n      ^^^^^\n")
    assert cli(*args, "--underline", "99").exit_code == 2
    assert cli(*args, "--underline", "0", "--json").exit_code == 2
