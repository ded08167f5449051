"""A trusted file that sets its own trace function: Python stops calling the line tracer,
and the command says so instead of showing a timeline that silently ends."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import autograd_cli
from conftest import Invoke, run_json

REPLACES = textwrap.dedent(
    """\
    import sys
    import torch
    x = torch.tensor(2.0, requires_grad=True)
    y = x * 3
    sys.settrace(None)
    z = y * y
    z.backward()
    """
)


def test_a_file_that_replaces_the_tracer_is_warned_about(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "prog.py"
    path.write_text(REPLACES, encoding="utf-8")
    result = cli("step", "--file", str(path), "--trust")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(
        "warning: the code replaced the line tracer with sys.settrace(), so its steps were "
        "not followed after line 5"
    )
    assert "\nhint: leave sys.settrace() out of the code" in result.stderr
    doc = run_json(cli, "grad", "--file", str(path), "--trust")
    assert [w["code"] for w in doc["warnings"]] == ["trace_replaced"]
    grads = {v["name"]: v["grad"] for v in doc["variables"]}
    assert grads["x"] == 36.0  # the run itself went on: d(9 x^2)/dx at x = 2


def test_a_file_that_leaves_the_tracer_alone_gets_no_warning(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "prog.py"
    path.write_text(REPLACES.replace("sys.settrace(None)", "sys.gettrace()"), encoding="utf-8")
    result = cli("step", "--file", str(path), "--trust")
    assert result.exit_code == 0 and result.stderr == ""


def test_record_keeps_the_warning_on_the_run() -> None:
    previous = sys.gettrace()
    with autograd_cli.record(seed=0) as run:
        sys.settrace(None)
    assert sys.gettrace() is previous  # the caller's own trace function is back
    assert [w.code for w in run.warnings] == ["trace_replaced"]
