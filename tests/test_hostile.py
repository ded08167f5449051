"""Hostile input: each refused with exit 2, one error line and a caret, no traceback, and
nothing run (a `touch` never happens) or allocated (bounds are checked on shapes first)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Invoke

TOUCH = "__import__('os').system('touch pwned')"

HOSTILE = [
    TOUCH,
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__.__init__.__globals__",
    "open('pwned', 'w').write('x')",
    "exec('import os')",
    "eval('1')",
    "getattr(x, '__class__')",
    "import os",
    "lambda: x",
    "[c for c in x]",
    "f'{x}'",
    "x if x else x",
    "x[x > 0]",
    "sum(*[x])",
    "sum(**{'input': x})",
    "x; x",
    "x := ones(2)",
    "9**9**9**9",
    "2 ** 10 ** 10",
    "ones(10**12)",
    "ones(10**6, 10**6)",
    "eye(10**6)",
    "arange(0, 1e12)",
    "linspace(0, 1, 10**11)",
    "full((10**5, 10**5), 1.)",
    "ones(10000, 1) @ ones(1, 10000)",
    "ones(100000, 1) * ones(1, 100000)",
    "99999999999999999999999999",
    "(" * 10_000 + "x" + ")" * 10_000,
    "-" * 10_000 + "x",
    "+".join(["x"] * 5_000),
    "x" + ".T" * 3_000,
    "",
    "   ",
    "x \u00b7 x",  # a middle dot
    "\u03c3(x)",  # a Greek sigma
    "x\x00",
    "x.grad",
    "x.data",
    "breakpoint()",
]


def one_error(stderr: str) -> None:
    lines = stderr.splitlines()
    assert [line for line in lines if line.startswith("error:")] == lines[:1]
    assert len(lines) <= 4  # error, the expression, the carets, a hint
    assert "Traceback" not in stderr and "internal error" not in stderr


@pytest.mark.parametrize("expr", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_expression_is_refused(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expr: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("grad", "--expr", expr, "--var", "x=ones(3)")
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    one_error(result.stderr)
    if len(result.stderr.splitlines()) >= 3:  # the caret line sits under the expression
        carets = result.stderr.splitlines()[2]
        assert set(carets.strip()) == {"^"}
    assert list(tmp_path.iterdir()) == []  # nothing ran: no file appeared


@pytest.mark.parametrize("where", ["--expr", "--var", "--vector"])
def test_hostile_text_is_refused_in_every_option(cli: Invoke, tmp_path: Path, where: str) -> None:
    target = tmp_path / "pwned"
    attack = TOUCH.replace("pwned", str(target))
    args = {
        "--expr": ["--expr", attack],
        "--var": ["--var", f"x={attack}", "--expr", "sum(x)"],
        "--vector": ["--expr", "x", "--var", "x=ones(2)", "--vector", attack],
    }[where]
    result = cli("grad", *args)
    assert result.exit_code == 2
    one_error(result.stderr)
    assert not target.exists()


PROBE = """
import sys
from typer.testing import CliRunner
from autograd_cli.cli import app
result = CliRunner().invoke(app, ["grad", "--expr", sys.argv[1]])
print(result.exit_code, "torch" in sys.modules)
"""


def test_refused_before_torch_is_even_imported() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, TOUCH], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["2", "False"]


def test_hostile_expression_in_a_real_process(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "autograd_cli", "grad", "--expr", TOUCH],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 2 and out.stdout == ""
    one_error(out.stderr)
    assert "'__import__'" in out.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["--var", "n=10**12", "--expr", "sum(ones(n))"],
        ["--var", "n=10**6", "--expr", "sum(eye(n))"],
        ["--var", "n=tensor(10**12)", "--expr", "sum(arange(n) * 1.)"],
        ["--var", "n=10**11", "--expr", "sum(linspace(0, 1, n))"],
        ["--expr", "sum(arange(0, 1e308, 1e-308))"],
        ["--expr", "sum(ones(2.5))"],
    ],
)
def test_sizes_held_in_tensors_are_bounded_too(cli: Invoke, args: list[str]) -> None:
    result = cli("grad", *args)
    assert result.exit_code == 2
    one_error(result.stderr)
    assert "elements; the limit is" in result.stderr or "whole numbers" in result.stderr
