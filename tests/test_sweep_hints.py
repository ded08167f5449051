"""Every refusal is one `error:` line and one `hint:` line: the ones that had no hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Invoke


def _hints(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("hint:")]


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_torch_refusing_an_expression_gives_a_hint(cli: Invoke) -> None:
    result = cli("grad", "--expr", "sum(x[5])", "--var", "x=randn(3)")
    assert result.exit_code == 2
    assert _errors(result.stderr) == ["error: index 5 is out of bounds for dimension 0 with size 3"]
    assert len(_hints(result.stderr)) == 1


@pytest.mark.parametrize(
    "code",
    [
        "import torch\nx = 10**10**10",  # the interpreter's refusal
        "import torch\nx = torch.tensor([1j])",  # the checker's refusal
    ],
)
def test_a_refused_program_gives_a_hint(cli: Invoke, code: str) -> None:
    result = cli("step", "--code", code)
    assert result.exit_code == 2
    assert len(_errors(result.stderr)) == 1
    assert _hints(result.stderr) == [
        "hint: docs/programs.md lists what a program may contain; run your own file as "
        "Python with --trust (it then runs with no bounds)"
    ]


def test_a_failed_write_gives_a_hint(cli: Invoke) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    result = cli("grad", "--expr", "sum(x)", "--var", "x=ones(2)", "-o", "/dev/full")
    assert result.exit_code == 2
    assert _errors(result.stderr) == ["error: cannot write /dev/full: No space left on device"]
    assert len(_hints(result.stderr)) == 1


def test_run_help_names_the_job_tables(cli: Invoke) -> None:
    result = cli("run", "--help")
    assert result.exit_code == 0
    assert "A TOML file of [[job]] tables." in result.stdout


@pytest.mark.parametrize(
    "text",
    [
        '[[job]\ncommand = "grad"\n',  # not TOML
        '[[job]]\ncommand = "rm"\n',  # no such command
        '[[job]]\ncommand = "grad"\ncheck = "yes"\n',  # a flag given a string
        '[[job]]\ncommand = "grad"\nexpr = ["sum(x)", "x"]\n',  # a list for one value
    ],
)
def test_a_bad_batch_file_gives_a_hint(cli: Invoke, tmp_path: Path, text: str) -> None:
    path = tmp_path / "jobs.toml"
    path.write_text(text, encoding="utf-8")
    result = cli("run", str(path), "--jobs", "1")
    assert result.exit_code == 2
    assert len(_errors(result.stderr.replace("[grad-1] ", "").replace("[rm-1] ", ""))) == 1
    assert len(_hints(result.stderr.replace("[grad-1] ", "").replace("[rm-1] ", ""))) == 1


def test_a_batch_file_that_is_not_utf8_gives_a_hint(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "jobs.toml"
    path.write_bytes(b"\xff\xfe")
    result = cli("run", str(path))
    assert result.exit_code == 2
    assert len(_errors(result.stderr)) == 1
    assert len(_hints(result.stderr)) == 1


def test_a_job_output_that_is_a_directory_gives_a_hint(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "jobs.toml"
    path.write_text(
        f'[[job]]\ncommand = "grad"\nexpr = "sum(x)"\nvar = ["x=ones(2)"]\noutput = "{tmp_path}"\n',
        encoding="utf-8",
    )
    result = cli("run", str(path))
    assert result.exit_code == 2
    assert len(_errors(result.stderr)) == 1
    assert len(_hints(result.stderr)) == 1


def test_file_and_code_together_gives_a_hint(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "p.py"
    path.write_text("import torch\n", encoding="utf-8")
    result = cli("step", "--file", str(path), "--code", "import torch")
    assert result.exit_code == 2
    assert _errors(result.stderr) == ["error: give --file or --code, not both"]
    assert len(_hints(result.stderr)) == 1
