"""The Python API: the same layers as the CLI, and `import autograd_cli` without torch."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from rich.console import Console

import autograd_cli
from autograd_cli.build.lesson import build_lesson
from autograd_cli.build.sources import SourceMap
from autograd_cli.records import GraphRecord
from conftest import Invoke

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


def test_api_matches_the_cli(cli: Invoke) -> None:
    sources = SourceMap()
    net = build_lesson(0, sources)
    graph = autograd_cli.trace(net.loss, names=net.named(), sources=sources)
    assert isinstance(graph, GraphRecord)
    assert autograd_cli.to_dot(graph) == cli("graph", "--format", "dot").stdout
    assert autograd_cli.to_mermaid(graph) == cli("graph", "--format", "mermaid").stdout
    doc = json.loads(autograd_cli.to_json(graph))
    cli_doc = json.loads(cli("graph", "--json").stdout)
    del cli_doc["seed"]  # the CLI adds the seed it drew with
    assert doc == cli_doc


def test_show_prints_the_tree(cli: Invoke) -> None:
    sources = SourceMap()
    net = build_lesson(0, sources)
    out = io.StringIO()
    graph = autograd_cli.show(
        net.loss,
        net.named(),
        sources=sources,
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
