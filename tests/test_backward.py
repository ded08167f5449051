"""`backward`: the engine's steps against torch's own log and `retain_grad()`."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator

import pytest
import torch
from rich.console import Console

from autograd_cli.build.computation import Computation, lesson_computation
from autograd_cli.build.expression import expression_computation
from autograd_cli.inspection.backward import run_backward
from autograd_cli.records.grads import GradRecord
from autograd_cli.render.backward import anomaly_view
from conftest import Invoke, run_json

#: A DAG: h is used twice, the leaves meet at several nodes, a torch helper node appears.
DAG = ("sum(g * h) + mean(x @ w)", ["x=randn(4)", "w=randn(4, 3)", "h=tanh(x * 2)", "g=h * h + h"])


@pytest.fixture
def torch_log() -> Iterator[list[str]]:
    """What `TORCH_LOGS=+autograd` prints: `Executing: <Node object at ...>`, in order.

    That setting puts torch's `torch.autograd.graph` logger at DEBUG; backward then logs
    each node as the engine starts it.
    """
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("torch.autograd.graph")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _executed(lines: list[str]) -> list[str]:
    names = [re.search(r"Executing: <([\w:]+) object", line) for line in lines]
    return [m.group(1).rsplit("::", 1)[-1] for m in names if m]


@pytest.mark.parametrize(
    "build",
    [lambda: lesson_computation(0), lambda: expression_computation(DAG[0], DAG[1])],
    ids=["lesson", "dag"],
)
def test_step_order_is_torch_logs_order(
    build: Callable[[], Computation], torch_log: list[str]
) -> None:
    plain = build()
    plain.result.backward()  # torch alone, logging each node it executes
    expected = _executed(torch_log)
    assert len(expected) >= 6
    record = run_backward(build())
    assert [record.graph.nodes[s.node].name for s in record.steps] == expected


def _close(record: GradRecord | None, grad: torch.Tensor) -> None:
    assert record is not None and record.values is not None
    assert torch.allclose(torch.tensor(record.values), grad, rtol=1e-6, atol=1e-7)


def test_each_step_received_what_retain_grad_keeps() -> None:
    computation = expression_computation(DAG[0], DAG[1])  # intermediates retain their grad
    record = run_backward(computation)
    by_node = {s.node: s for s in record.steps}
    named = {n.tensor or n.leaf: n.id for n in record.graph.nodes if n.tensor or n.leaf}
    assert set(named) == {"result", "x", "w", "h", "g"}
    for name, tensor in computation.tensors.items():
        assert tensor.grad is not None
        _close(by_node[named[name]].received[0], tensor.grad)
    # What a node passes on along an edge is what the child receives (or its share of it).
    add = record.steps[0]
    assert add.passed is not None and len(add.passed) == 2
    for edge, grad in zip(record.graph.children(add.node), add.passed, strict=True):
        assert edge.dst is not None and grad is not None
        assert by_node[edge.dst].received[0] == grad


def test_ids_are_graph_ids_and_every_node_runs(cli: Invoke) -> None:
    args = ["--expr", DAG[0], *(a for v in DAG[1] for a in ("--var", v))]
    graph = run_json(cli, "graph", *args)
    doc = run_json(cli, "backward", *args)
    assert doc["command"] == "backward" and doc["anomaly"] is None
    nodes = [(n["id"], n["name"]) for n in graph["nodes"]]
    assert [(n["id"], n["name"]) for n in doc["graph"]["nodes"]] == nodes
    assert sorted(s["node"] for s in doc["steps"]) == [i for i, _ in nodes]
    ran = {s["node"]: s for s in doc["steps"]}  # a step names its node by id
    accumulate = [n for n in doc["graph"]["nodes"] if n["name"] == "AccumulateGrad"]
    assert {n["leaf"] for n in accumulate} == {"x", "w"}
    assert all(ran[n["id"]]["passed"] == [] for n in accumulate)
    for step in doc["steps"]:  # one gradient passed on per edge, in `position` order
        edges = [e for e in doc["graph"]["edges"] if e["from"] == step["node"]]
        assert len(step["passed"]) == len(edges)
    assert [s["step"] for s in doc["steps"]] == list(range(1, len(nodes) + 1))


def test_lesson_view(cli: Invoke, golden: Callable[[str, str], None]) -> None:
    result = cli("backward")
    assert result.exit_code == 0
    golden("backward_lesson.txt", result.stdout)


def test_nan_is_caught_at_the_node_that_made_it(cli: Invoke) -> None:
    computation = expression_computation("sum(log(x) * 0)", ["x=zeros(2)"])
    record = run_backward(computation, detect_anomaly=True)
    anomaly = record.anomaly
    assert anomaly is not None and anomaly.nan and not anomaly.inf
    node = record.graph.nodes[anomaly.node]
    assert node.name == "LogBackward0"
    assert node.source is not None and node.source.text == "log(x)"
    assert record.steps[-1].node == anomaly.node  # it stopped there
    assert computation.tensors["x"].grad is None  # x's AccumulateGrad never ran

    result = cli("backward", "--expr", "sum(log(x) * 0)", "--var", "x=zeros(2)",
                 "--detect-anomaly")  # fmt: skip
    assert result.exit_code == 1
    assert "NaN first appeared at step 3: #2 LogBackward0" in result.stdout
    assert "sum(log(x) * 0)\n      ^^^^^^" in result.stderr


@pytest.mark.parametrize("width", [40, 62, 70, 80, 100])
def test_anomaly_line_never_breaks_a_node_label(width: int) -> None:
    record = run_backward(
        expression_computation("sum(log(x) * 0)", ["x=zeros(2)"]), detect_anomaly=True
    )
    assert record.anomaly is not None
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(anomaly_view(record, record.anomaly))
    lines = out.getvalue().splitlines()
    assert any("#2 LogBackward0" in line for line in lines)
    assert any("#3 AccumulateGrad  x" in line for line in lines)
    if width == 80:  # the README's width: the label moves to the next line whole
        assert lines[:2] == [
            "NaN first appeared at step 3: #2 LogBackward0 passed it on to",
            "#3 AccumulateGrad  x",
        ]


def test_without_detect_anomaly_backward_runs_through(cli: Invoke) -> None:
    doc = run_json(cli, "backward", "--expr", "sum(log(x) * 0)", "--var", "x=zeros(2)")
    assert doc["anomaly"] is None and len(doc["steps"]) == 4
    assert doc["steps"][-1]["received"][0]["nan"] is True


def test_backward_that_fails_names_the_step(cli: Invoke) -> None:
    result = cli("backward", "--expr", "sum(s)", "--var", "a=randn(3)", "--var", "y=a * 2",
                 "--var", "s=sin(y)", "--var", "k=y.add_(1)")  # fmt: skip
    assert result.exit_code == 2
    assert "backward failed at step 2 (#1 SinBackward0)" in result.stderr
    assert "modified by an inplace operation" in result.stderr


def test_non_scalar_needs_a_vector(cli: Invoke) -> None:
    assert cli("backward", "--root", "z").exit_code == 2
    doc = run_json(cli, "backward", "--root", "z", "--vector", "tensor([1., 2., 3.])")
    assert doc["gradient"]["values"] == [1.0, 2.0, 3.0]
    assert doc["steps"][0]["received"][0]["values"] == [1.0, 2.0, 3.0]
