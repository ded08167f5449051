"""Deep chains, shared subgraphs and the limits of the tree: what a real model's graph needs."""

from __future__ import annotations

import io
import json
import re
from collections import Counter

import pytest
import torch
from rich.console import Console, RenderableType

from autograd_cli.inspection.graph import trace
from autograd_cli.records.graph import GraphRecord
from autograd_cli.render.dot import to_dot
from autograd_cli.render.json import to_json
from autograd_cli.render.limits import Limits, ViewOptions, bounded, fold_for
from autograd_cli.render.mermaid import to_mermaid
from autograd_cli.render.tree import tree_view
from conftest import load_document

DEEP = 100_000


def text(renderable: RenderableType, width: int = 80) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(renderable)
    return buffer.getvalue()


def chain(n: int) -> torch.Tensor:
    """n MulBackward0 above one AccumulateGrad, under a SumBackward0: n + 2 nodes."""
    y = torch.ones(1, requires_grad=True)
    for _ in range(n):
        y = y * 1.0
    return y.sum()


@pytest.fixture(scope="module")
def deep() -> GraphRecord:
    return trace(chain(DEEP))


def test_deep_chain_traces_without_recursion(deep: GraphRecord) -> None:
    assert len(deep.nodes) == DEEP + 2
    assert Counter(n.name for n in deep.nodes) == {
        "MulBackward0": DEEP,
        "SumBackward0": 1,
        "AccumulateGrad": 1,
    }
    # Preorder ids down the chain: every edge goes from one id to the next.
    real = [e for e in deep.edges if e.dst is not None]
    assert len(real) == DEEP + 1
    assert all(e.dst == e.src + 1 for e in real)


def test_deep_chain_exports_whole(deep: GraphRecord) -> None:
    doc = json.loads(to_json(deep))  # 10^5 nodes: the schema is checked on smaller graphs
    assert len(doc["nodes"]) == DEEP + 2 and doc["cut"] is None
    dot = to_dot(deep)
    assert dot.count(" -> ") == DEEP + 1
    assert f"n{DEEP + 1} [" in dot


def test_deep_chain_tree_is_bounded(deep: GraphRecord) -> None:
    out = text(tree_view(deep, ViewOptions(limits=Limits(max_nodes=200), fold=fold_for(80))))
    lines = out.splitlines()
    assert len(lines) < 500  # 200 nodes, their 200 constants (the 1.0), 28 folds
    assert max(len(line) for line in lines) <= 80
    shown = set(re.findall(r"#(\d+) ", out))
    assert shown == {str(i) for i in range(200)}
    assert " ".join(out.split()).endswith(
        f"cut: {DEEP + 2 - 200:,} of {DEEP + 2:,} nodes not shown (--max-nodes 200): "
        f"{DEEP - 199:,} MulBackward0, 1 AccumulateGrad"
    )
    # Folded every 7 levels: the continuation starts a tree of its own.
    assert "├── #7 MulBackward0  (1,) float32  ↓ continued below" in out
    assert "\n#7 MulBackward0  (1,) float32  (level 7, under #6)\n" in out
    assert "… 1 more node (--max-nodes 200)" in out


def doubling_dag(times: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.ones(2, requires_grad=True)
    y = x
    for _ in range(times):
        y = y + y  # 2**times paths, one node each time
    return y.sum(), x


def test_dag_subgraph_printed_once_then_referenced() -> None:
    loss, x = doubling_dag(60)
    graph = trace(loss, {"x": x})
    assert len(graph.nodes) == 62
    out = text(tree_view(graph, ViewOptions(limits=Limits(), fold=1000)), width=1000)
    # Each AddBackward0 is drawn once; its second input is a reference to the first.
    for node in range(1, 61):
        assert len(re.findall(rf"#{node} AddBackward0  \(2,\)", out)) == 1
        assert len(re.findall(rf"-> see #{node + 1}$", out, re.MULTILINE)) == 1
    assert out.count("AccumulateGrad  x") == 1
    assert "cut:" not in out


def test_max_nodes_cut_counts_by_op() -> None:
    w = torch.ones(3, requires_grad=True)
    branches = [(w * i).exp() for i in range(5)]  # 5 x (Exp, Mul), one shared w
    loss = torch.stack(branches).sum()
    graph = trace(loss, {"w": w})
    assert len(graph.nodes) == 13  # Sum, Stack, 5 Exp, 5 Mul, AccumulateGrad
    options = ViewOptions(limits=Limits(max_nodes=6))
    out = text(tree_view(graph, options))
    # Preorder: Sum, Stack, Exp, Mul, AccumulateGrad (w), Exp; then the budget is spent.
    assert re.findall(r"#(\d+) \w+  ", out) == ["0", "1", "2", "3", "4", "5"]
    assert "    └── … 3 more nodes (--max-nodes 6)" in out  # 3 Exp below the Stack
    assert "    │   └── … 1 more node (--max-nodes 6)" in out  # the Mul below #5
    assert out.splitlines()[-1] == (
        "cut: 7 of 13 nodes not shown (--max-nodes 6): 4 MulBackward0, 3 ExpBackward0"
    )
    shown, cut = bounded(graph, options.limits)
    assert cut is not None and cut.nodes == 7
    assert [n.id for n in shown.nodes] == [0, 1, 2, 3, 4, 5]
    assert all(e.src < 6 and (e.dst is None or e.dst < 6) for e in shown.edges)


def test_depth_cut() -> None:
    loss = chain(10)
    options = ViewOptions(limits=Limits(depth=3))
    out = text(tree_view(trace(loss), options))
    assert re.findall(r"#(\d+) ", out) == ["0", "1", "2", "3"]
    assert "… 2 more edges (--depth 3)" in out  # y * 1.0: the chain and the constant 1.0
    assert out.splitlines()[-1] == (
        "cut: 8 of 12 nodes not shown (--depth 3): 7 MulBackward0, 1 AccumulateGrad"
    )
    doc = load_document(to_json(trace(loss), options))
    assert [n["id"] for n in doc["nodes"]] == [0, 1, 2, 3]
    assert doc["cut"] == {
        "nodes": 8,
        "of": 12,
        "by_op": {"MulBackward0": 7, "AccumulateGrad": 1},
        "by": ["--depth 3"],
    }


def test_exports_whole_unless_asked() -> None:
    graph = trace(chain(500))
    assert len(load_document(to_json(graph))["nodes"]) == 502
    assert to_dot(graph).count(" -> ") == 501
    assert to_mermaid(graph).count(" --> ") == 501
    cut_dot = to_dot(graph, ViewOptions(limits=Limits(max_nodes=10)))
    assert cut_dot.count(" -> ") == 9
    assert "// cut: 492 of 502 nodes not shown (--max-nodes 10)" in cut_dot
