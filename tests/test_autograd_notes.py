"""Snippets of PyTorch's autograd tutorials and "Autograd mechanics" notes, as programs.

Each program's printed lines are checked against the same code run by plain PyTorch in
this process, after the same seed.
"""

from __future__ import annotations

import contextlib
import io
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch

from conftest import Invoke, run_json

MODES = textwrap.dedent(
    """\
    import torch
    x = torch.randn(5, requires_grad=True)
    with torch.inference_mode():
        r = x * 2
        r.add_(1)
    print(r.requires_grad, r.is_inference())
    with torch.set_grad_enabled(False):
        t = x * 3
    print(t.requires_grad)
    """
)


def plain(code: str) -> list[str]:
    """What `python` prints running `code` after torch.manual_seed(0)."""
    torch.manual_seed(0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<program>", "exec"), {"__name__": "__main__"})
    return out.getvalue().splitlines()


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    events = doc["events"]
    assert isinstance(events, list)
    return [e for e in events if e["event"] == "statement"]


@pytest.mark.parametrize("trust", [False, True])
def test_a_tensor_made_under_inference_mode_is_shown(
    cli: Invoke, tmp_path: Path, trust: bool
) -> None:
    """An inference tensor has no version counter: reading it raised an internal error."""
    program = tmp_path / "modes.py"
    program.write_text(MODES, "utf-8")
    doc = run_json(cli, "step", str(program), *(["--trust"] if trust else []))
    assert doc["failure"] is None
    events = statements(doc)
    assert [line for e in events for line in e["printed"]] == plain(MODES)
    assert plain(MODES) == ["False True", "False"]
    bound = {b["name"]: b for e in events for b in e["bound"]}
    assert bound["r"]["version"] is None and bound["x"]["version"] == 0
    if not trust:  # the in-place add on r, in inference mode: no version to give
        assert {"tensor": "r", "op": "add", "version": None} in [
            v for e in events for v in e["versions"]
        ]
        text = cli("step", str(program)).stdout
        assert "r changed in place (add): an inference tensor: no version" in text


def test_set_grad_enabled_in_a_with_says_its_switch_once(cli: Invoke) -> None:
    doc = run_json(cli, "step", "--code", MODES)
    (entry,) = [e for e in statements(doc) if e["code"].startswith("with torch.set_grad")]
    assert entry["modes"] == ["grad mode off (set_grad_enabled)"]


UNNAMED_ROOT = textwrap.dedent(
    """\
    import torch
    x = torch.ones(3, requires_grad=True)
    y = x * 3
    y.sum().backward()
    """
)


@pytest.mark.parametrize("trust", [False, True])
def test_a_backward_root_without_a_name_is_the_default_root(
    cli: Invoke, tmp_path: Path, trust: bool
) -> None:
    """`y.sum().backward()`: the commands start from y.sum(), not from y (whose backward
    needs a gradient, and whose error pointed at --vector, refused on a program)."""
    program = tmp_path / "unnamed.py"
    program.write_text(UNNAMED_ROOT, "utf-8")
    flags = (str(program), "--trust") if trust else (str(program),)
    root = "y.sum().backward()" if trust else "y.sum()"  # a trusted file credits its line
    graph = run_json(cli, "graph", "-f", *flags)
    top = graph["nodes"][graph["root"]]
    assert (top["tensor"], top["name"]) == (root, "SumBackward0")
    steps = run_json(cli, "backward", "-f", *flags)
    names = [steps["graph"]["nodes"][s["node"]]["name"] for s in steps["steps"]]
    assert steps["result"] == root and names == ["SumBackward0", "MulBackward0", "AccumulateGrad"]
    why = cli("why", "x", "-f", *flags)
    assert why.exit_code == 0, why.stderr
    assert f"and {root} depends on it" in " ".join(why.stdout.split())


def test_backward_of_a_leaf_root_in_a_trusted_file_is_a_usage_error(
    cli: Invoke, tmp_path: Path
) -> None:
    """The tool's own refusal, raised inside a trusted run, is not the file's failure."""
    program = tmp_path / "leaf.py"
    program.write_text(
        "import torch\nv = torch.zeros(3, requires_grad=True)\nv.backward(torch.ones(3))\n",
        "utf-8",
    )
    for trust in ([], ["--trust"]):
        result = cli("backward", "-f", str(program), *trust)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith("error: the root is a leaf tensor")


NO_GRAD = textwrap.dedent(
    """\
    import torch
    x = torch.ones(5)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    print(z.requires_grad)
    c = torch.ones(3)
    loss = (torch.matmul(x, w) + b).sum()
    loss.backward()
    """
)


def test_why_names_no_grad_for_a_tensor_a_program_made_under_it(cli: Invoke) -> None:
    """The tutorial's `with torch.no_grad(): z = ...`: `why z` said "a constant"."""
    doc = run_json(cli, "why", "z", "--code", NO_GRAD)
    assert doc["reason"] == "no_grad" and doc["source"]["line"] == 6
    assert "made by no_grad at `torch.matmul(x, w) + b`" in doc["explanation"]
    assert run_json(cli, "why", "c", "--code", NO_GRAD)["reason"] == "constant"


def test_why_names_no_grad_in_a_trusted_file_too(cli: Invoke, tmp_path: Path) -> None:
    """A trusted file's tensors made under `no_grad` were called constants: the mode now
    notes the cut by the file's line, as the interpreter does by its code."""
    program = tmp_path / "no_grad.py"
    program.write_text(NO_GRAD, "utf-8")
    doc = run_json(cli, "why", "z", "-f", str(program), "--trust")
    assert doc["reason"] == "no_grad" and doc["source"]["line"] == 6
    assert "made by no_grad at `z = torch.matmul(x, w) + b`" in doc["explanation"]
    assert run_json(cli, "why", "c", "-f", str(program), "--trust")["reason"] == "constant"


def test_a_trusted_loop_under_no_grad_keeps_one_cut_a_line() -> None:
    """The mode notes a cut for every op run with grad off; by the line that ran it, so a
    loop of 50 steps keeps one output alive, not 50."""
    from autograd_cli.build.sources import SourceMap
    from autograd_cli.program.recorder import Recorder
    from autograd_cli.records.source import Source

    sources = SourceMap()
    recorder = Recorder(sources, lambda tensor: None)
    recorder.where = Source("w2 = w * k", line=4)
    w = torch.ones(2, requires_grad=True)
    with recorder.active(), torch.no_grad():
        outputs = [w * k for k in range(50)]
    (cut,) = sources.cuts
    assert cut.kind == "no_grad" and cut.output is outputs[-1] and cut.inputs == (w,)


def test_a_cut_made_by_the_same_code_again_replaces_the_first() -> None:
    """An op run in a loop under no_grad keeps its latest output alive, not every one."""
    from autograd_cli.build.sources import SourceMap
    from autograd_cli.records.source import Source

    sources, at = SourceMap(), Source("w - 0.1 * g")
    w = torch.ones(2, requires_grad=True)
    outputs = [w.detach() * k for k in range(3)]
    for out in outputs:
        sources.cut_at("no_grad", out, at, (w,))
    (cut,) = sources.cuts
    assert cut.output is outputs[-1] and cut.inputs == (w,)


def test_register_hook_is_refused_with_a_pointer_to_trust(cli: Invoke) -> None:
    code = "import torch\nv = torch.zeros(3, requires_grad=True)\nh = v.register_hook(print)\n"
    result = cli("step", "--code", code)
    assert result.exit_code == 2 and result.stdout == ""
    first, *_, last = result.stderr.splitlines()
    assert first.startswith("error: line 3: `.register_hook()` calls a function of yours")
    assert last.startswith("hint: run your own file as Python with --trust")
