"""The module recorder: which module made each node, parameter names, saved bytes per module,
the module view (folding, expanding) and gradient health, all through the Python API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import torch
from rich.console import Console
from torch import nn
from torch.overrides import TorchFunctionMode

from autograd_cli.inspection.graph import trace
from autograd_cli.inspection.modules import ModuleRecorder
from autograd_cli.records.graph import GraphRecord
from autograd_cli.records.modules import ModelRecord, Thresholds, flags
from autograd_cli.render.dot import to_dot
from autograd_cli.render.json import data, dumps, to_json
from autograd_cli.render.mermaid import to_mermaid
from autograd_cli.render.module_view import health_view, module_view
from autograd_cli.render.modules import find_module, module_rows
from conftest import load_document

Golden = Callable[[str, str], None]


def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))


def run(model: nn.Module, x: torch.Tensor, backward: bool = True) -> tuple[Any, ModelRecord]:
    with ModuleRecorder() as modules:
        loss = model(x).square().mean()
        if backward:
            loss.backward(retain_graph=True)
    graph, record = modules.model(loss, saved=True)
    return graph, record


def render(renderable: Any, width: int = 80) -> str:
    console = Console(width=width, color_system=None, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def test_nodes_carry_the_module_that_made_them_and_leaves_their_parameter_names() -> None:
    model = mlp()
    graph, _ = run(model, torch.randn(4, 8))
    by_name = {(n.name, n.module.path if n.module else None) for n in graph.nodes}
    assert ("AddmmBackward0", "0") in by_name
    assert ("AddmmBackward0", "2") in by_name
    assert ("ReluBackward0", "1") in by_name
    # the loss's arithmetic ran outside every module
    assert {n.name for n in graph.nodes if n.module is None} == {"MeanBackward0", "PowBackward0"}
    leaves = {n.leaf: n.module.path for n in graph.nodes if n.name == "AccumulateGrad" if n.module}
    assert leaves == {"0.weight": "0", "0.bias": "0", "2.weight": "2", "2.bias": "2"}


class Block(nn.Module):
    """A module whose forward makes a node that never reaches its output."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(3, 3)
        self.side: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.side = x.exp()  # not on the path to the output
        out: torch.Tensor = self.inner(x) * 2
        return out


def test_innermost_module_wins_and_side_nodes_belong_to_the_module_that_ran() -> None:
    torch.manual_seed(0)
    outer = nn.Sequential(Block())
    x = torch.randn(2, 3, requires_grad=True)
    with ModuleRecorder() as modules:
        y = outer(x)
    graph = trace(y, modules=modules)
    owners = {n.name: n.module.path if n.module else None for n in graph.nodes}
    assert owners["MulBackward0"] == "0"  # in Block.forward, outside Linear
    assert owners["AddmmBackward0"] == "0.inner"
    assert owners["AccumulateGrad"] in ("0.inner", None)  # x is no parameter: None
    block = outer[0]
    assert isinstance(block, Block) and block.side is not None
    side = trace(block.side, modules=modules)
    assert side.nodes[0].module is not None and side.nodes[0].module.path == "0"


def test_a_torch_function_mode_does_not_see_the_recorder() -> None:
    seen: list[str] = []

    class Spy(TorchFunctionMode):
        def __torch_function__(
            self, func: Any, types: Any, args: Any = (), kwargs: Any = None
        ) -> Any:
            seen.append(getattr(func, "__name__", str(func)))
            return func(*args, **(kwargs or {}))

    model = mlp()
    x = torch.randn(2, 8)
    with Spy():
        model(x)
    bare = list(seen)
    seen.clear()
    with Spy(), ModuleRecorder():
        model(x)
    assert seen == bare


def test_saved_bytes_of_modules_and_outside_add_up_to_the_graph_total() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)
    )
    graph, record = run(model, torch.randn(2, 3, 8, 8), backward=False)
    roots = [s for s in record.stats if s.module.parent is None]
    assert sum(s.saved_bytes for s in roots) + record.outside_saved == record.saved_bytes
    assert record.saved_bytes == graph.saved_bytes > 0 and not record.freed
    # the same count as the graph view's (trace --saved), which reads every node's tensors
    x = torch.randn(2, 3, 8, 8)
    with ModuleRecorder() as modules:
        loss = model(x).square().mean()
    assert modules.model(loss)[1].saved_bytes == trace(loss, saved=True).saved_bytes
    loss.backward()
    after = modules.model(loss)[1]
    assert after.freed and after.saved_bytes == 0
    assert sum(op.saved_bytes for op in record.ops) == record.saved_bytes
    children = [s for s in record.stats if s.module.parent == 0]
    assert sum(s.saved_bytes for s in children) == roots[0].saved_bytes
    assert sum(s.nodes for s in roots) + record.outside == record.nodes == len(graph.nodes)


def encoder(layers: int, width: int = 16) -> nn.Module:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(width, 2, 2 * width, dropout=0.0, batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def test_alike_blocks_fold_into_one_row_and_one_expands(golden: Golden) -> None:
    graph, record = run(encoder(4), torch.randn(2, 3, 16))
    rows = module_rows(record, depth=2)
    assert [(r.name, r.cls, r.count) for r in rows] == [
        ("(root)", "TransformerEncoder", 1),
        ("layers.0-3", "TransformerEncoderLayer", 4),
    ]
    folded = rows[1]
    layer_stats = [s for s in record.stats if s.module.cls == "TransformerEncoderLayer"]
    assert folded.nodes == sum(s.nodes for s in layer_stats)
    assert folded.parameters == sum(s.parameters for s in layer_stats)
    norms = [s.grad_norm for s in layer_stats if s.grad_norm is not None]
    assert folded.grad_norm == pytest.approx(sum(n * n for n in norms) ** 0.5)

    target = find_module(record, "layers.2.linear1")
    expanded = module_rows(record, depth=1, expand=target)
    names = [r.name for r in expanded]
    assert names[:4] == ["(root)", "layers", "0-1", "2"]
    assert "linear1" in names and names[-1] == "3"
    text = render(module_view(record, expanded, graph, target))
    assert "nodes of layers.2.linear1 (Linear)" in text
    assert "layers.2.linear1.weight" in text
    golden("modules_encoder.txt", render(module_view(record, rows, graph)))


def test_folding_needs_alike_blocks() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 2), nn.Linear(2, 2))
    _, record = run(model, torch.randn(1, 4))
    rows = module_rows(record)
    assert [(r.name, r.count) for r in rows] == [
        ("(root)", 1),
        ("0-1", 2),
        ("2", 1),
        ("3", 1),
    ]


def test_module_depth_keeps_totals_of_what_it_hides() -> None:
    graph, record = run(encoder(2), torch.randn(1, 2, 16))
    (top,) = module_rows(record, depth=0)
    assert top.nodes + record.outside == len(graph.nodes)


def test_unknown_module_path_is_a_usage_error() -> None:
    from autograd_cli.errors import UsageError

    _, record = run(mlp(), torch.randn(1, 8))
    with pytest.raises(UsageError, match="no module 'nope'"):
        find_module(record, "nope")


def test_health_flags_dead_units_frozen_unused_and_update_ratio() -> None:
    torch.manual_seed(0)
    first, head, spare = nn.Linear(4, 6), nn.Linear(6, 1), nn.Linear(2, 2)
    with torch.no_grad():
        first.bias[:3] = -100.0  # three units never fire: their ReLU passes no gradient
        first.bias[3:] = 100.0  # and three always do
    model = nn.ModuleDict({"first": first, "head": head, "spare": spare})
    head.bias.requires_grad_(False)
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.5, momentum=0.0
    )
    x = torch.randn(8, 4)
    with ModuleRecorder() as modules:
        modules.register(model)
        model["spare"](torch.zeros(1, 2))  # called, but not on the loss's path
        hidden = torch.relu(model["first"](x))
        loss = model["head"](hidden).square().mean()
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        optimizer.step()
    _, record = modules.model()
    params = {p.name: p for p in record.parameters}
    weight = params["first.weight"]
    assert weight.dead_rows == 3 and weight.rows == 6
    assert "dead_units" in flags(weight, Thresholds())
    assert params["head.bias"].missing == "frozen"
    assert params["spare.weight"].missing == "unused"
    assert flags(params["spare.weight"], Thresholds()) == ["no_grad"]
    update = params["head.weight"].update
    assert update is not None and update.steps == 1
    expected = 0.5 * float(grads["head.weight"].norm())
    assert update.update_norm == pytest.approx(expected, rel=1e-5)
    assert [p.name for p in record.parameters] == [
        "first.weight",
        "first.bias",
        "head.weight",
        "head.bias",
        "spare.weight",
        "spare.bias",
    ]


def test_vanishing_exploding_and_nan_flags() -> None:
    torch.manual_seed(0)
    tiny, huge, broken = nn.Linear(2, 1), nn.Linear(2, 1), nn.Linear(2, 1)
    x = torch.ones(1, 2)
    with ModuleRecorder() as modules:
        (tiny(x) * 1e-12).sum().backward()
        (huge(x) * 1e6).sum().backward()
        (broken(x) * float("nan")).sum().backward()
    _, record = modules.model()
    # three roots: each names its parameters from itself, and they come in call order
    found = [(p.name, flags(p, Thresholds())) for p in record.parameters]
    assert found == [
        ("weight", ["vanishing"]),
        ("bias", ["vanishing"]),
        ("weight", ["exploding"]),
        ("bias", ["exploding"]),
        ("weight", ["nan"]),
        ("bias", ["nan"]),
    ]
    assert [m.root for m in record.modules] == [0, 1, 2]
    assert flags(record.parameters[0], Thresholds(vanishing=1e-20)) == []


def test_model_json_and_health_golden(golden: Golden) -> None:
    model = mlp()
    torch.manual_seed(1)
    x = torch.randn(4, 8)
    with ModuleRecorder() as modules:
        loss = model(x).square().mean()
        loss.backward(retain_graph=True)
        torch.optim.SGD(model.parameters(), lr=0.1).step()
    graph, record = modules.model(loss, saved=True)
    doc = json.loads(dumps(data({**data(record), "rows": module_rows(record)})))
    assert [m["path"] for m in doc["modules"]] == ["", "0", "1", "2"]
    assert doc["parameters"][0]["name"] == "0.weight"
    assert doc["parameters"][0]["update"]["steps"] == 1
    golden("modules_mlp_health.txt", render(health_view(record)))
    assert graph is not None
    golden("modules_mlp.dot", to_dot(graph))
    golden("modules_mlp.mmd", to_mermaid(graph))
    nodes = load_document(to_json(graph))["nodes"]
    assert {n["module"]["path"] for n in nodes if n["module"]} == {"0", "1", "2"}


def test_no_module_ran_is_a_usage_error() -> None:
    from autograd_cli.errors import UsageError

    with ModuleRecorder() as modules:
        torch.ones(2).sum()
    with pytest.raises(UsageError, match=r"no nn\.Module ran"):
        modules.model()


def trace_graph(model: nn.Module, x: torch.Tensor) -> GraphRecord:
    with ModuleRecorder() as modules:
        y = model(x).sum()
    return trace(y, modules=modules)


def test_the_same_model_gives_the_same_labels_twice() -> None:
    first = to_dot(trace_graph(mlp(), torch.ones(1, 8)))
    assert first == to_dot(trace_graph(mlp(), torch.ones(1, 8)))


def test_parameter_counts_stay_narrow_in_the_view() -> None:
    from autograd_cli.render.labels import format_count

    assert [format_count(n) for n in (161, 9_999_999, 368_889_600, 1_475_558_400)] == [
        "161",
        "9,999,999",
        "368.9M",
        "1.48B",
    ]
