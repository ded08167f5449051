"""`graph`: the lesson's grad_fn graph, as a tree and as JSON, checked against torch."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from autograd_cli.build.lesson import build_lesson
from autograd_cli.errors import UsageError
from autograd_cli.inspection.graph import trace
from autograd_cli.records.schema import SCHEMA
from conftest import Invoke, run_json


def test_tree_matches_golden(cli: Invoke, golden: Callable[[str, str], None]) -> None:
    result = cli("graph", "--seed", "0")
    assert result.exit_code == 0
    golden("graph_lesson.txt", result.stdout)


def test_tree_from_z(cli: Invoke, golden: Callable[[str, str], None]) -> None:
    result = cli("graph", "--root", "z")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("#0 AddBackward0  = z")
    assert "BinaryCrossEntropy" not in result.stdout


def test_json_matches_torch_graph(cli: Invoke) -> None:
    doc = run_json(cli, "graph")
    assert doc["schema"] == SCHEMA and doc["command"] == "graph"
    net = build_lesson(0)
    # Walk torch's own graph independently: node names and next_functions arity.
    by_id = {n["id"]: n for n in doc["nodes"]}
    out: dict[int, list[dict[str, object]]] = {}
    for e in doc["edges"]:
        out.setdefault(e["from"], []).append(e)
    pending = [(net.loss.grad_fn, doc["root"])]
    seen = 0
    while pending:
        fn, node_id = pending.pop()
        seen += 1
        assert fn is not None
        assert fn.name().endswith(by_id[node_id]["name"])
        edges = sorted(out.get(node_id, []), key=lambda e: int(str(e["position"])))
        assert len(edges) == len(fn.next_functions)
        for (child, input_nr), edge in zip(fn.next_functions, edges, strict=True):
            assert edge["input_nr"] == input_nr
            assert edge["constant"] == (child is None)
            if child is not None:
                pending.append((child, edge["to"]))
    assert seen == len(doc["nodes"])
    leaves = {n["leaf"]: n["shape"] for n in doc["nodes"] if n["leaf"]}
    assert leaves == {"w": [5, 3], "b": [3]}


def test_same_seed_same_bytes(cli: Invoke) -> None:
    first, second = cli("graph", "--json"), cli("graph", "--json")
    assert first.stdout == second.stdout


def test_node_names_read_from_torch() -> None:
    net = build_lesson(0)
    record = trace(net.loss, net.named())
    assert [n.name for n in record.nodes] == [
        "BinaryCrossEntropyWithLogitsBackward0",
        "AddBackward0",
        "SqueezeBackward4",
        "MmBackward0",
        "AccumulateGrad",
        "AccumulateGrad",
    ]
    constants = [e for e in record.edges if e.constant]
    assert len(constants) == 2  # x into mm, y into the loss


def test_dag_is_walked_once() -> None:
    x = torch.ones(2, requires_grad=True)
    y = x
    for _ in range(60):
        y = y + y  # 2**60 paths, 61 nodes
    record = trace(y.sum())
    assert len(record.nodes) == 62


def test_unknown_root_is_usage_error(cli: Invoke) -> None:
    result = cli("graph", "--root", "q")
    assert result.exit_code == 2
    assert "the program binds no tensor called 'q'" in result.stderr
    assert result.stdout == ""


def test_leaf_root_is_usage_error() -> None:
    net = build_lesson(0)
    with pytest.raises(UsageError, match="leaf"):
        trace(net.w)
    with pytest.raises(UsageError, match="does not require grad"):
        trace(net.x)


def test_a_long_source_is_one_line_cropped_around_the_node_operator(
    cli: Invoke, golden: Callable[[str, str], None]
) -> None:
    expr = "sum(" + "*".join(["x"] * 60) + ")"
    result = cli("graph", "--expr", expr, "--var", "x=randn(3)", "--max-nodes", "50")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    headings = [i for i, line in enumerate(lines) if "Backward0  " in line]
    # every node's heading is followed by its source on exactly one line (a folded node
    # shows twice: where it is cut and where it goes on)
    assert [i for i, line in enumerate(lines) if "from " in line] == [i + 1 for i in headings]
    assert not [line for line in lines if line.strip(" │├└─").startswith(("x*", "…x"))]
    assert all(len(line) <= 80 for line in lines)
    # each mul's own `*` is the last of its span (x*x*...*x groups to the left), so a
    # cropped span keeps its end in sight and elides its start
    cropped = [lines[i + 1] for i in headings[1:] if "…" in lines[i + 1]]
    assert len(cropped) > 10
    assert all("from …x*x" in line and line.endswith("x*x") for line in cropped)
    golden("graph_long_source.txt", result.stdout)
    # the document keeps the whole span
    doc = run_json(cli, "graph", "--expr", expr, "--var", "x=randn(3)", "--max-nodes", "50")
    assert doc["nodes"][1]["source"]["text"] == "*".join(["x"] * 60)


def test_a_program_line_is_cropped_around_the_call(cli: Invoke) -> None:
    code = (
        "import torch\n"
        "x = torch.randn(3, requires_grad=True)\n"
        "y = (x + 1) * 2 + torch.sin(x) * 3 + torch.cos(x) * 4 + torch.tanh(x) * 5 "
        "+ torch.exp(x) * 6 + torch.sigmoid(x).sum()\n"
    )
    result = cli("graph", "--code", code, "--root", "y")
    assert result.exit_code == 0
    sigmoid = next(line for line in result.stdout.splitlines() if "SigmoidBackward0" in line)
    below = result.stdout.splitlines()
    line = below[below.index(sigmoid) + 1]
    assert "torch.sigmoid(x)" in line and line.rstrip().endswith("line 3")
    assert len(line) <= 80
