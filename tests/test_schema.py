"""The published JSON schema (schema/autograd-cli-N.schema.json) against real documents.

conftest checks every document the tests read; these tests make sure each command's
document is read at least once, and that the schema is strict enough to notice drift.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer

from autograd_cli.cli import app
from autograd_cli.records.schema import SCHEMA
from conftest import SCHEMA_FILE, Invoke, load_lines, run_json, schema_validator

PROGRAM = Path(__file__).parents[1] / "examples" / "tutorial.py"

#: One command line per document form the schema defines.
DOCUMENTS = {
    "graph": ["graph", "--saved", "--grads", "--max-nodes", "3"],
    "grad": ["grad", "--expr", "sum(x*x)", "--var", "x=tensor([1.,2.])", "--jacobian",
             "--check", "--hessian", "--expect", "x=2*x"],
    "why": ["why", "w"],
    "why --all": ["why", "--all"],
    "backward": ["backward", "--expr", "sum(log(x))", "--var", "x=tensor([1.,0.])"],
    "accumulate": ["accumulate", "--times", "2"],
    "accumulate (program)": ["accumulate", "--file", str(PROGRAM)],
    "modes": ["modes"],
    "lesson": ["lesson"],
    "step": ["step", str(PROGRAM)],
}  # fmt: skip


@pytest.mark.parametrize("form", DOCUMENTS)
def test_every_command_document_validates(cli: Invoke, form: str) -> None:
    argv = DOCUMENTS[form]
    doc = run_json(cli, *argv)  # run_json validates
    assert doc["schema"] == SCHEMA and doc["command"] == argv[0]


def test_run_job_lines_validate(cli: Invoke, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(
        '[[job]]\ncommand = "grad"\n\n'
        '[[job]]\ncommand = "graph"\nformat = "dot"\n\n'
        '[[job]]\ncommand = "grad"\nexpr = "sum(x"\n\n'
        f'[[job]]\ncommand = "why"\nvariable = "w"\noutput = "{tmp_path / "w.json"}"\n',
        encoding="utf-8",
    )
    result = cli("run", str(jobs), "--json")
    docs = load_lines(result.stdout)
    assert [d["status"] for d in docs] == ["passed", "passed", "invalid", "passed"]
    assert "variables" in docs[0] and "output" in docs[1] and "error" in docs[2]


def test_schema_names_this_version() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["properties"]["schema"] == {"const": SCHEMA}
    assert schema["title"] == SCHEMA


def test_schema_defines_every_command_with_json() -> None:
    """A new command with --json needs its document in the schema."""
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    with_json = {
        name
        for name, command in group.commands.items()
        if any("--json" in p.opts for p in command.params) and name != "run"
    }
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert with_json == set(schema["$defs"]["is"])


def _errors(doc: dict[str, Any]) -> list[str]:
    return [e.message for e in schema_validator().iter_errors(doc)]


def test_schema_rejects_drift(cli: Invoke) -> None:
    doc = run_json(cli, *DOCUMENTS["graph"])
    changes: list[Callable[[dict[str, Any]], object]] = [
        lambda d: d.update(extra=1),  # a field the schema does not know
        lambda d: d["nodes"][0].update(extra=1),
        lambda d: d["nodes"][0].pop("source"),  # a field gone
        lambda d: d["edges"][0].update(to="1"),  # a type changed
        lambda d: d.update(schema="autograd-cli/0"),
    ]
    for change in changes:
        changed = copy.deepcopy(doc)
        change(changed)
        assert _errors(changed), change
