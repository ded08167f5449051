"""`autograd-cli --version` and the `version` of every JSON document name the release."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from autograd_cli import __version__
from conftest import Invoke, load_document, load_lines

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"


def test_version_is_the_packages() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert __version__ == project["version"]


def test_version_option_prints_it_without_torch() -> None:
    probe = (
        "import sys\n"
        "from autograd_cli.cli import app\n"
        "try:\n"
        "    app(['--version'])\n"
        "except SystemExit as exit:\n"
        "    print(exit.code, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [f"autograd-cli {__version__}", "0 False"]


@pytest.mark.parametrize(
    "args",
    [
        ["graph"],
        ["grad", "--expr", "sum(x)", "--var", "x=ones(2)"],
        ["modes"],
        ["accumulate"],
        ["backward"],
        ["why", "w"],
        ["lesson"],
    ],
)
def test_every_json_document_has_the_version(cli: Invoke, args: list[str]) -> None:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    doc = load_document(result.stdout)
    assert (doc["command"], doc["version"]) == (args[0], __version__)


def test_batch_documents_have_the_version(cli: Invoke, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(
        '[[job]]\ncommand = "graph"\n\n[[job]]\ncommand = "grad"\nexprr = "sum(x)"\n',
        encoding="utf-8",
    )
    result = cli("run", str(jobs), "--json")
    docs = load_lines(result.stdout)
    assert [(d["status"], d["version"]) for d in docs] == [
        ("passed", __version__),
        ("invalid", __version__),
    ]
