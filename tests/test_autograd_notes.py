"""The grad modes of PyTorch's "Autograd mechanics" notes, pasted as programs.

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
