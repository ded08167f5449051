"""The Python API: the same layers as the CLI, and `import autograd_cli` without torch."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console

import autograd_cli
from autograd_cli.build.computation import Computation
from autograd_cli.errors import UsageError
from autograd_cli.program.run import run_program
from autograd_cli.program.source import lesson_program
from autograd_cli.records.graph import GraphRecord
from conftest import Invoke, load_document

LAZY_PROBE = """
import sys
import autograd_cli
assert "torch" not in sys.modules, "import autograd_cli imported torch"
assert "autograd_cli.api" not in sys.modules
# graph --format dot imports its renderer and no other one.
from typer.testing import CliRunner
from autograd_cli.cli import app
assert CliRunner().invoke(app, ["graph", "--format", "dot"]).exit_code == 0
loaded = {m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("autograd_cli.render.")}
assert "dot" in loaded and not loaded & {"mermaid", "tree", "tables", "json"}, loaded
import torch
x = torch.ones(2, requires_grad=True)
graph = autograd_cli.trace((x * 2).sum(), names={"x": x})
print(len(graph.nodes), autograd_cli.to_dot(graph).splitlines()[0])
"""


def test_import_is_cheap_and_loads_on_use() -> None:
    """In a fresh process: no torch on import; only the chosen format's renderer."""
    out = subprocess.run(
        [sys.executable, "-c", LAZY_PROBE], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "3 digraph autograd {"


def _lesson() -> Computation:
    """The lesson as `graph` runs it without input: its cells before loss.backward()."""
    return run_program(lesson_program("forward"), seed=0).computation("loss")


def test_api_matches_the_cli(cli: Invoke) -> None:
    lesson = _lesson()
    graph = autograd_cli.trace(lesson.result, names=lesson.named, sources=lesson.sources)
    assert isinstance(graph, GraphRecord)
    assert autograd_cli.to_dot(graph) == cli("graph", "--format", "dot").stdout
    assert autograd_cli.to_mermaid(graph) == cli("graph", "--format", "mermaid").stdout
    doc = load_document(autograd_cli.to_json(graph))
    cli_doc = load_document(cli("graph", "--json").stdout)
    assert doc["seed"] is None  # only the CLI knows the seed it drew with
    assert doc == {**cli_doc, "seed": None}


def test_show_prints_the_tree(cli: Invoke) -> None:
    lesson = _lesson()
    out = io.StringIO()
    graph = autograd_cli.show(
        lesson.result,
        lesson.named,
        sources=lesson.sources,
        console=Console(file=out, width=80, color_system=None),
    )
    assert out.getvalue() == cli("graph").stdout
    again = io.StringIO()
    autograd_cli.show(graph, console=Console(file=again, width=80, color_system=None))
    assert again.getvalue() == out.getvalue()


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="nope"):
        autograd_cli.nope  # noqa: B018
    assert {"trace", "show", "to_dot", "to_json", "to_mermaid"} <= set(dir(autograd_cli))


RELEASE_PROBE = """
import torch
import autograd_cli
x = torch.ones(2, requires_grad=True)
y = x
for _ in range(100_000):
    y = y * 1.0
graph = autograd_cli.trace(y.sum())
autograd_cli.release(y)
assert y.grad_fn is None and not y.requires_grad and y.tolist() == [1.0, 1.0]
y = None  # without release(): a segmentation fault, from about 5x10^4 nodes
print(len(graph.nodes))
"""


def test_release_frees_a_deep_traced_graph() -> None:
    out = subprocess.run([sys.executable, "-c", RELEASE_PROBE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "100002"  # SumBackward0, 10^5 MulBackward0, AccumulateGrad


def test_release_refuses_a_view_and_passes_over_a_leaf() -> None:
    import torch

    x = torch.ones(3, requires_grad=True)
    autograd_cli.release(x)
    assert x.requires_grad  # a leaf has no graph to free
    with pytest.raises(UsageError, match="is a view of another one"):
        autograd_cli.release((x * 2)[1:])


#: The API as a notebook sees it: no type checker between the user and the arguments.
untyped: Any = autograd_cli


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: untyped.trace(3), "trace: expected a tensor, got the number 3"),
        (
            lambda t: untyped.trace(t, names={"w": 5}),
            r"names\['w'\]: expected a tensor, got the number 5",
        ),
        (lambda t: untyped.trace(t, names={1: t}), "the key 1 is not a string"),
        (
            lambda t: untyped.to_dot(t),
            r"to_dot: expected the GraphRecord that trace\(\) returns, got a tensor of shape \(\)",
        ),
        (lambda t: untyped.to_json("graph"), "to_json: expected the GraphRecord"),
        (lambda t: untyped.to_mermaid(None), "to_mermaid: expected the GraphRecord"),
        (lambda t: untyped.show(t, max_nodes=-1), "max_nodes=-1: give a whole number >= 0"),
        (lambda t: untyped.show(t, depth=-2), "depth=-2"),
        (lambda t: untyped.release([t]), "release: expected a tensor, got a list"),
    ],
)
def test_mistakes_raise_usage_error(call: Callable[[Any], object], message: str) -> None:
    import torch

    x = torch.ones(2, requires_grad=True)
    with pytest.raises(UsageError, match=message):
        call((x * 2).sum())
