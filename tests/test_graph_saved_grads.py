"""`--saved` and `--grads`: the bytes autograd keeps, and the gradients that flow, against
hand computations and torch's own `retain_grad()`."""

from __future__ import annotations

import io
import math

import pytest
import torch
from rich.console import Console

from autograd_cli.build.lesson import build_lesson
from autograd_cli.errors import UsageError
from autograd_cli.inspection.graph import trace
from autograd_cli.records.grads import GradRecord
from autograd_cli.records.graph import SavedRecord
from autograd_cli.render.json import data
from autograd_cli.render.tree import grad_text, tree_view
from conftest import Invoke, run_json


def test_saved_bytes_by_hand() -> None:
    a = torch.randn(4, dtype=torch.float64, requires_grad=True)
    b = a.exp()  # ExpBackward0 saves its result b: 4 x 8 = 32 bytes
    c = b * a  # MulBackward0 saves self (b) and other (a): 64 bytes
    graph = trace(c.sum(), {"a": a, "b": b}, saved=True)
    by_name = {n.name: n for n in graph.nodes}
    assert by_name["ExpBackward0"].saved == (
        SavedRecord("result", (4,), "float64", 32, alias="output"),
    )
    assert by_name["MulBackward0"].saved == (
        SavedRecord("other", (4,), "float64", 32, alias="leaf", alias_of="a"),
        SavedRecord("self", (4,), "float64", 32, alias="input", alias_of="b"),
    )
    assert by_name["MulBackward0"].saved_bytes == 64
    assert {op.name: op.saved_bytes for op in graph.ops()} == {
        "SumBackward0": 0,
        "MulBackward0": 64,
        "ExpBackward0": 32,
        "AccumulateGrad": 0,
    }
    # Kept alive: a's storage and b's, each once although b is saved twice.
    assert graph.saved_bytes == 64


def test_view_of_a_leaf_is_an_alias() -> None:
    net = build_lesson(0)
    graph = trace(net.loss, net.named(), saved=True)
    mm = next(n for n in graph.nodes if n.name == "MmBackward0")
    # matmul(x, w) with a vector x runs mm(x.unsqueeze(0), w): x's memory, not a copy.
    assert mm.saved == (SavedRecord("self", (1, 5), "float32", 20, "leaf", "x"),)
    assert graph.saved_bytes == 20 + 12 + 12  # x, z, y


def test_unnamed_input_and_leaf_are_labelled_by_node_id() -> None:
    a = torch.randn(3, requires_grad=True)
    graph = trace((a.sin() * a).sum(), saved=True)
    mul = graph.nodes[1]
    assert [(s.name, s.alias, s.alias_of) for s in mul.saved or ()] == [
        ("other", "leaf", "#3"),
        ("self", "input", "#2"),
    ]


def test_freed_saved_tensors_are_reported(cli: Invoke) -> None:
    net = build_lesson(0)
    net.loss.backward()  # frees what the nodes saved
    graph = trace(net.loss, net.named(), saved=True)
    saved = [s for n in graph.nodes for s in n.saved or ()]
    assert saved and all(s.freed and s.nbytes == 0 for s in saved)
    assert {s.name for s in saved} == {"self", "target"}
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(tree_view(graph))
    assert "saved self freed by backward()" in out.getvalue()
    doc = data(graph)
    assert doc["nodes"][0]["saved"][0]["freed"] is True


def test_saved_tensor_modified_in_place_is_not_called_freed(cli: Invoke) -> None:
    args = ["graph", "--expr", "sum(s)", "--var", "a=randn(3)", "--var", "y=a * 2"]
    args += ["--var", "s=sin(y)", "--var", "k=y.add_(1)", "--saved"]
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert "saved self modified in place (version 1, saved at 0)" in result.stdout
    assert "freed" not in result.stdout
    sin = run_json(cli, *args)["nodes"][1]
    assert sin["name"] == "SinBackward0"
    assert sin["saved"] == [
        {
            "name": "self",
            "shape": [3],
            "dtype": None,
            "bytes": 0,
            "alias": None,
            "alias_of": None,
            "freed": False,
            "stale": {"version": 1, "saved_version": 0},
        }
    ]


def test_saved_json_fields(cli: Invoke) -> None:
    doc = run_json(cli, "graph", "--saved")
    assert doc["saved_bytes"] == 44
    root = doc["nodes"][0]
    assert root["saved_bytes"] == 24
    assert root["saved"][1] == {
        "name": "target",
        "shape": [3],
        "dtype": "float32",
        "bytes": 12,
        "alias": "leaf",
        "alias_of": "y",
        "freed": False,
        "stale": None,
    }
    assert {op["name"]: op["saved_bytes"] for op in doc["ops"]}["MmBackward0"] == 20


def _close(record: GradRecord | None, grad: torch.Tensor) -> None:
    assert record is not None
    assert record.shape == tuple(grad.shape)
    assert record.norm == pytest.approx(float(grad.norm()), rel=1e-6)
    assert record.min == pytest.approx(float(grad.min()), rel=1e-6)
    assert record.max == pytest.approx(float(grad.max()), rel=1e-6)
    assert not record.nan and not record.inf


def test_grads_match_retain_grad() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, generator=gen)
    w1 = torch.randn(3, 5, generator=gen, requires_grad=True)
    w2 = torch.randn(5, 2, generator=gen, requires_grad=True)
    h = torch.tanh(x @ w1)
    out = h @ w2
    loss = (out * h.sum(1, keepdim=True)).pow(2).mean()  # h used twice: its grads add up
    names = {"w1": w1, "w2": w2, "h": h, "out": out}
    graph = trace(loss, names, grads=True)
    assert w1.grad is None and w2.grad is None  # trace left .grad alone
    for t in (h, out):
        t.retain_grad()
    loss.backward()
    by_tensor = {n.tensor or n.leaf: n for n in graph.nodes if n.tensor or n.leaf}
    for name, tensor in names.items():
        assert tensor.grad is not None
        _close(by_tensor[name].grad, tensor.grad)
    assert graph.nodes[0].grad is not None and graph.nodes[0].grad.norm == 1.0


def test_edge_grads_are_what_each_input_received() -> None:
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0, -4.0], requires_grad=True)
    graph = trace((a * b).sum(), {"a": a, "b": b}, grads=True)
    mul = graph.nodes[1]
    into = {graph.nodes[e.dst].leaf: e.grad for e in graph.children(mul.id) if e.dst is not None}
    assert into["a"] == GradRecord((2,), 5.0, -4.0, 3.0, nan=False, inf=False)  # d/da = b
    assert into["b"] is not None and into["b"].norm == pytest.approx(math.sqrt(5))


def test_nan_and_inf_are_flagged(cli: Invoke) -> None:
    x = torch.tensor([0.0, 4.0], requires_grad=True)
    y = torch.tensor([-1.0, 1.0], requires_grad=True)
    loss = x.sqrt().sum() + y.sqrt().sum()  # d sqrt(x)/dx = inf at 0; sqrt(-1) = nan
    graph = trace(loss, {"x": x, "y": y}, grads=True)
    by_leaf = {n.leaf: n.grad for n in graph.nodes if n.leaf}
    assert by_leaf["x"] is not None and by_leaf["x"].inf and not by_leaf["x"].nan
    assert by_leaf["y"] is not None and by_leaf["y"].nan
    label = grad_text(by_leaf["x"])
    assert "inf" in label.plain
    assert any("red" in str(span.style) for span in label.spans)
    doc = data(graph)
    flags = {n["leaf"]: (n["grad"]["nan"], n["grad"]["inf"]) for n in doc["nodes"] if n["leaf"]}
    assert flags == {"x": (False, True), "y": (True, False)}


def test_vanishing_gradient_is_not_printed_as_zero() -> None:
    label = grad_text(GradRecord((3,), 3.2e-12, 1e-13, 2e-12, nan=False, inf=False))
    assert label.plain == "grad norm 3.200e-12  min 1.000e-13  max 2.000e-12"


def test_grads_after_backward_is_usage_error() -> None:
    net = build_lesson(0)
    net.loss.backward()
    with pytest.raises(UsageError, match="backward failed") as error:
        trace(net.loss, net.named(), grads=True)
    assert error.value.hint is not None and "freed" in error.value.hint


def test_grads_json(cli: Invoke) -> None:
    doc = run_json(cli, "graph", "--grads")
    net = build_lesson(0)
    net.loss.backward()
    assert net.w.grad is not None
    w = next(n for n in doc["nodes"] if n["leaf"] == "w")
    assert w["grad"]["shape"] == [5, 3]
    assert w["grad"]["norm"] == pytest.approx(float(net.w.grad.norm()))
    assert w["grad"]["nan"] is False and w["grad"]["inf"] is False
    assert all(e["grad"] is None for e in doc["edges"] if e["constant"])


def test_every_output_of_a_multi_output_node_has_its_gradient(cli: Invoke) -> None:
    x = torch.randn(2, 3, requires_grad=True)
    first, second = x.unbind(0)  # one UnbindBackward0, two outputs
    loss = (first * 2).sum() + (second * 3).sum()
    graph = trace(loss, {"x": x}, grads=True)
    (unbind,) = (n for n in graph.nodes if n.name == "UnbindBackward0")
    assert unbind.output_grads is not None
    assert [(g.min, g.max) for g in unbind.output_grads if g] == [(2.0, 2.0), (3.0, 3.0)]
    assert unbind.grad == unbind.output_grads[0]
    nodes = data(graph)["nodes"]
    assert [g["max"] for g in nodes[unbind.id]["output_grads"]] == [2.0, 3.0]
    assert [n["id"] for n in nodes if n["output_grads"] is not None] == [unbind.id]
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(tree_view(graph))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "grad[0] (3,) norm 3.4641" in text and "grad[1] (3,) norm 5.1962" in text


def test_table_refuses_the_tree_bounds(cli: Invoke) -> None:
    for option in (["--depth", "2"], ["--max-nodes", "3"]):
        result = cli("graph", "--format", "table", *option)
        assert result.exit_code == 2 and "--format table counts every node" in result.stderr
