"""`graph --format` and `-o`: every format has a renderer, DOT renders in Graphviz, Mermaid
keeps its shape, files are replaced whole or not at all."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from rich.console import ConsoleRenderable

from autograd_cli.cli.app import write_output
from autograd_cli.inspection.graph import trace
from autograd_cli.records.graph import GraphRecord
from autograd_cli.render.dot import to_dot
from autograd_cli.render.formats import GraphFormat, renderer
from autograd_cli.render.json import data, document, dumps, to_json
from autograd_cli.render.limits import Limits, ViewOptions, bounded
from autograd_cli.render.mermaid import to_mermaid
from autograd_cli.render.stream import BATCH
from conftest import Invoke, load_document, run_json

#: Names a user may give to variables: everything DOT and Mermaid read specially.
NASTY = 'a"b\\c#1;<i>&`x`\nnext'


def nasty_graph() -> GraphRecord:
    leaf = torch.ones(2, requires_grad=True)
    mid = leaf.exp()
    return trace((mid * leaf).sum(), {NASTY: leaf, "[bold]mid[/]": mid})


@pytest.mark.parametrize("fmt", list(GraphFormat))
def test_every_format_has_a_renderer(fmt: GraphFormat) -> None:
    result = renderer(fmt)(nasty_graph(), ViewOptions())
    if fmt.export:  # the text in pieces, as it is made: the same text as the API's
        assert isinstance(result, Iterator)
        text = "".join(result)
        api = {"json": to_json, "dot": to_dot, "mermaid": to_mermaid}[fmt.value]
        assert text.endswith("\n") and text == api(nasty_graph())
    else:
        assert isinstance(result, ConsoleRenderable)


def test_dot_ids_are_stable_and_labels_escaped() -> None:
    first, second = to_dot(nasty_graph()), to_dot(nasty_graph())
    assert first == second
    assert re.findall(r"^  (n\d+) \[", first, re.MULTILINE) == ["n0", "n1", "n2", "n3"]
    assert 'a\\"b\\\\c#1;<i>&`x`\\nnext' in first  # quote and backslash escaped, newline \n


# Skipped where Graphviz is missing; pytest's -rs (pyproject) prints this reason in the summary.
@pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's dot is not installed (apt-get install graphviz): DOT output not rendered",
)
def test_dot_renders_with_graphviz(cli: Invoke) -> None:
    result = cli("graph", "--format", "dot", "--saved", "--grads")
    assert result.exit_code == 0, result.stderr
    lesson, nasty = (
        subprocess.run(
            ["dot", "-Tsvg"], input=source, capture_output=True, text=True, check=True
        ).stdout
        for source in (result.stdout, to_dot(nasty_graph()))
    )
    assert lesson.count('class="node"') == result.stdout.count(" [label=") == 6
    assert lesson.count('class="edge"') == result.stdout.count(" -> ") == 5
    assert ">#4 AccumulateGrad</text>" in lesson and ">w</text>" in lesson  # one line each
    assert nasty.count('class="node"') == 4
    assert "a&quot;b\\c#1;&lt;i&gt;&amp;`x`" in nasty  # the nasty name survived, as text


def test_mermaid_flowchart_shape() -> None:
    text = to_mermaid(nasty_graph())
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    nodes = [m for line in lines if (m := re.fullmatch(r'  (n\d+)\["([^"]*)"\]', line))]
    edges = [m for line in lines if (m := re.fullmatch(r"  (n\d+) --> (n\d+)", line))]
    ids = {m.group(1) for m in nodes}
    assert ids == {"n0", "n1", "n2", "n3"}
    assert all(m.group(1) in ids and m.group(2) in ids for m in edges)
    assert len(edges) == 4  # Sum->Mul, Mul->Exp, Exp->Acc, Mul->Acc (a reference)
    for m in nodes:  # inside quotes: no raw quote, #, <, > or & but entities and <br/>
        label = m.group(2).replace("<br/>", "")
        assert not re.search(r'[<>"`]|#(?!\w+;)|&', label), label
    assert "a#quot;b\\c#35;1;#lt;i#gt;#amp;#96;x#96;<br/>next" in text
    other = {line for line in lines if not any(m.string == line for m in nodes + edges)}
    assert all(line.startswith(("flowchart", "  classDef ", "  class ")) for line in other)


def test_json_keeps_the_old_fields(cli: Invoke) -> None:
    doc = run_json(cli, "graph")
    head = ["schema", "command", "version", "warnings", "seed", "root", "nodes", "edges"]
    assert list(doc)[:8] == head
    node, edge = doc["nodes"][0], doc["edges"][0]
    assert list(node)[:6] == ["id", "name", "shape", "dtype", "leaf", "tensor"]
    assert list(edge) == ["from", "to", "input_nr", "position", "grad", "constant"]
    assert node["saved"] is None and node["grad"] is None and doc["saved_bytes"] is None
    assert doc["cut"] is None
    assert doc == load_document(cli("graph", "--format", "json").stdout)


def test_json_and_format_disagree(cli: Invoke) -> None:
    result = cli("graph", "--json", "--format", "dot")
    assert result.exit_code == 2
    assert "--json and --format dot disagree" in result.stderr


def test_table_format(cli: Invoke, golden: Callable[[str, str], None]) -> None:
    result = cli("graph", "--format", "table")
    assert result.exit_code == 0
    golden("graph_lesson_table.txt", result.stdout)


def test_saved_and_grads_tree(cli: Invoke, golden: Callable[[str, str], None]) -> None:
    result = cli("graph", "--saved", "--grads")
    assert result.exit_code == 0
    golden("graph_lesson_saved_grads.txt", result.stdout)


@pytest.mark.parametrize(
    ("fmt", "name"), [("dot", "graph_lesson.dot"), ("mermaid", "graph_lesson.mmd")]
)
def test_export_golden(
    cli: Invoke, golden: Callable[[str, str], None], fmt: str, name: str
) -> None:
    result = cli("graph", "--format", fmt)
    assert result.exit_code == 0
    golden(name, result.stdout)


def test_output_file_is_written_whole(cli: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "graph.dot"
    target.write_text("old")
    target.chmod(0o640)
    result = cli("graph", "--format", "dot", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert f"wrote {target}" in result.stderr
    assert target.read_text() == cli("graph", "--format", "dot").stdout
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.dot"]
    tree = tmp_path / "tree.txt"
    assert cli("graph", "-o", str(tree)).exit_code == 0
    assert tree.read_text() == cli("graph").stdout  # plain text, no colour codes


def test_failed_run_leaves_the_old_file(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "graph.json"
    target.write_text("old")

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    result = cli("graph", "--format", "json", "-o", str(target))
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "cannot write" in message and "No space left on device" in message
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.json"]  # no temporary left


def test_render_error_touches_no_file(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "graph.dot"
    target.write_text("old")

    def failing(*args: object) -> Iterator[str]:
        yield "digraph autograd {\n"  # half written, into the temporary file
        raise RuntimeError("boom")

    monkeypatch.setattr("autograd_cli.render.dot.dot_chunks", failing)
    result = cli("graph", "--format", "dot", "-o", str(target))
    assert result.exit_code == 3
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.dot"]


def test_missing_directory_is_usage_error(cli: Invoke, tmp_path: Path) -> None:
    result = cli("graph", "-o", str(tmp_path / "nope" / "g.txt"))
    assert result.exit_code == 2 and "cannot write" in result.stderr


def test_write_output_is_shared(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    write_output(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"


def _wide_graph(leaves: int) -> GraphRecord:
    """More nodes than one batch of the streamed exports, a named leaf, a NaN gradient."""
    xs = [torch.ones(1, requires_grad=True) for _ in range(leaves)]
    bad = torch.zeros(1, requires_grad=True)
    result = (torch.cat(xs).sum() + bad.log()).sum() * 0
    return trace(result, {"bad": bad, "x0": xs[0]}, grads=True)


@pytest.mark.parametrize("limits", [Limits(), Limits(max_nodes=3000), Limits(depth=1)])
def test_streamed_json_is_the_whole_document(limits: Limits) -> None:
    """Made in batches, the document has the bytes one `json.dumps` of it would have."""
    graph = _wide_graph(BATCH + 5)
    options = ViewOptions(limits=limits, fields={"seed": 3})
    shown, cut = bounded(graph, limits)
    fields = data(shown)  # the record's fields, `root` first as the stream writes it
    whole = dumps(document("graph", seed=3, root=fields.pop("root"), **fields, cut=cut))
    pieces = list(renderer(GraphFormat.json)(graph, options))  # type: ignore[arg-type]
    assert len(pieces) > 3 and "".join(pieces) == whole
    assert json.loads(whole)["nodes"][-1]["id"] == len(shown.nodes) - 1


def test_streamed_text_exports_have_every_node() -> None:
    graph = _wide_graph(BATCH + 5)
    dot, mermaid = to_dot(graph), to_mermaid(graph)
    for node in graph.nodes:
        assert f"  n{node.id} [label=" in dot and f'  n{node.id}["' in mermaid
    flowing = [f"  n{e.src} -> n{e.dst};" for e in graph.edges if e.dst is not None]
    assert re.findall(r"^  n\d+ -> n\d+;$", dot, re.MULTILINE) == flowing
    (leaves,) = re.findall(r"^  class (\S+) leaf$", mermaid, re.MULTILINE)
    assert len(leaves.split(",")) == BATCH + 5 and dot.endswith("}\n")


def test_dot_labels_of_alike_nodes_are_each_their_own() -> None:
    """Nodes that differ only in their id share the rest of their label (made once): each
    still gets its own id, and a node with a name of its own keeps it."""
    x = torch.ones(2, requires_grad=True)
    y = x * 2.0
    named = y * 3.0
    root = (named * 4.0).sum()
    dot = to_dot(trace(root, {"x": x, "named": named}))
    labels = dict(re.findall(r'^  n(\d+) \[label="([^"]*)"', dot, re.MULTILINE))
    assert labels["2"] == "#2 MulBackward0\\n= named\\n(2,) float32"
    assert labels["1"] == "#1 MulBackward0\\n(2,) float32"
    assert labels["3"] == "#3 MulBackward0\\n(2,) float32"
    assert labels["4"].startswith("#4 AccumulateGrad\\nx\\n")
