"""`why PARAM` on a model: each parameter's missing gradient explained by the program's lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Invoke, load_document

PROGRAM = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
head = nn.Linear(3, 2)
side = nn.Linear(4, 2)
model[0].requires_grad_(False)
model[2].bias.requires_grad = False
x = torch.randn(8, 4)
extra = side(x)
loss = model(x).sum()
loss.backward()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
optimizer.step()
"""


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "model.py"
    path.write_text(PROGRAM)
    return path


def why(cli: Invoke, program: Path, name: str, *more: str) -> dict[str, object]:
    done = cli("why", name, "-f", str(program), "--json", *more)
    assert done.exit_code == 0, done.stderr
    doc: dict[str, object] = load_document(done.stdout)
    return doc


@pytest.mark.parametrize("trust", [[], ["--trust"]])
@pytest.mark.parametrize(
    ("name", "reason", "line", "words"),
    [
        ("0.weight", "frozen", 8, "`model[0].requires_grad_(False)` at line 8 switched it off"),
        ("model.0.bias", "frozen", 8, "switched it off"),
        ("2.bias", "frozen", 9, "`model[2].bias.requires_grad = False` at line 9"),
        ("head.weight", "unused", 13, "head (Linear) is never called"),
        ("side.bias", "unused", 11, "side (Linear) ran at `extra = side(x)` at line 11"),
        ("model.2.weight", "has_grad", 13, "backward from loss (`loss.backward()` at line 13)"),
    ],
)
def test_a_parameter_is_explained_by_the_line_that_decided(
    cli: Invoke, program: Path, trust: list[str], name: str, reason: str, line: int, words: str
) -> None:
    doc = why(cli, program, name, *trust)
    assert doc["name"] == name and doc["reason"] == reason
    assert doc["has_grad"] is (reason == "has_grad")
    source = doc["source"]
    assert isinstance(source, dict) and source["line"] == line
    explanation = doc["explanation"]
    assert isinstance(explanation, str)
    if trust and words.startswith("side"):  # a trusted file's code is the whole line
        words = "side (Linear) ran at `extra = side(x)` at line 11"
    assert words in explanation


def test_cleared_by_zero_grad_and_no_backward(cli: Invoke, tmp_path: Path) -> None:
    cleared = tmp_path / "cleared.py"
    cleared.write_text(PROGRAM + "optimizer.zero_grad()\n")
    doc = why(cli, cleared, "2.weight")
    assert doc["reason"] == "cleared" and doc["has_grad"] is False
    assert "then `optimizer.zero_grad()` at line 16 set it back to None" in str(doc["explanation"])
    forward_only = tmp_path / "forward.py"
    forward_only.write_text(
        PROGRAM.replace("loss.backward()\n", "").replace("optimizer.step()\n", "")
    )
    doc = why(cli, forward_only, "model.2.weight")
    assert doc["reason"] == "no_backward" and doc["source"] is None


def test_the_view_and_an_unknown_parameter(cli: Invoke, program: Path) -> None:
    done = cli("why", "0.weight", "-f", str(program))
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith("0.weight: no gradient  (frozen)")
    assert "model[0].requires_grad_(False)" in done.stdout
    unknown = cli("why", "model.9.weight", "-f", str(program))
    assert unknown.exit_code == 2
    assert "no variable or parameter is called 'model.9.weight'" in unknown.stderr
    assert "did you mean 'model.2.weight'?" in unknown.stderr  # the parameters, by path
    listed = cli("why", "zzz", "-f", str(program))
    assert "parameters: model.0.weight, model.0.bias" in listed.stderr


def test_grad_points_at_why_for_a_parameter_without_gradient(cli: Invoke, program: Path) -> None:
    done = cli("grad", "-f", str(program))
    assert done.exit_code == 0, done.stderr
    # the first parameter flagged: side's (called first), named as `why` finds it
    assert "by the program's lines: autograd-cli why weight" in " ".join(done.stdout.split())


LOOP = """\
import torch
from torch import nn

torch.manual_seed(0)
first = nn.Linear(4, 1)
later = nn.Linear(4, 1)
x = torch.randn(8, 4)
loss = first(x).sum()
loss.backward()
for step in range(3):
    loss = later(x).sum()
    loss.backward()
"""


@pytest.mark.parametrize("trusted", [False, True])
def test_the_program_lets_go_of_each_backward_root_as_plain_pytorch_does(
    tmp_path: Path, trusted: bool
) -> None:
    """A training loop's earlier losses, and their graphs, are freed once the program
    rebinds `loss` (the recorder keeps no root alive: N steps would keep N graphs), while
    `why` still names the backward that filled a parameter's `.grad` long ago."""
    from autograd_cli.inspection.modules import ModuleRecorder
    from autograd_cli.program.run import run_program
    from autograd_cli.program.source import read_program

    path = tmp_path / "loop.py"
    path.write_text(LOOP)
    with ModuleRecorder():
        run = run_program(read_program(str(path), None), seed=0, trusted=trusted)
    assert run.error is None
    roots = [ref() for ref in run.recorder.backward_roots]
    assert len(roots) == 4
    assert roots[:3] == [None, None, None] and roots[3] is run.scope["loss"]
    assert [id(run.scope["first"].weight) in r for r in run.recorder.backward_reached] == [
        True,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize("trust", [[], ["--trust"]])
def test_a_parameter_filled_by_an_earlier_backward_names_it(
    cli: Invoke, tmp_path: Path, trust: list[str]
) -> None:
    path = tmp_path / "loop.py"
    path.write_text(LOOP)
    doc = why(cli, path, "first.weight", *trust)
    assert doc["reason"] == "has_grad"
    source = doc["source"]
    assert isinstance(source, dict) and source["line"] == 9
    assert "backward from the result (`loss.backward()` at line 9)" in str(doc["explanation"])
