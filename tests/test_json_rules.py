"""The rules every JSON document follows (docs/json.md): every field is present (null when
it does not apply), a number that is not finite keeps its identity as a string, and the
warnings shown on stderr are listed in the document."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from autograd_cli.render.json import dumps
from conftest import SCHEMA_FILE, Invoke, load_lines, run_json

DIVISION = ("grad", "--expr", "sum(1 / x)", "--var", "x=tensor([0., 2.])")


def test_nonfinite_numbers_are_strings_that_float_reads_back() -> None:
    line = dumps({"values": [math.nan, math.inf, -math.inf, 1.5], "norm": math.inf})
    assert line == '{"values":["NaN","Infinity","-Infinity",1.5],"norm":"Infinity"}\n'
    values = [float(v) for v in json.loads(line)["values"]]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1.5]


def test_grad_keeps_inf_and_nan_apart(cli: Invoke) -> None:
    doc = run_json(cli, *DIVISION)
    assert doc["value"] == "Infinity"  # 1/0 + 1/2
    assert [v["grad"] for v in doc["variables"]] == [["-Infinity", -0.25]]  # -1/x**2
    doc = run_json(cli, "grad", "--expr", "sum(sqrt(x))", "--var", "x=tensor([-1., 4.])")
    assert doc["value"] == "NaN" and doc["variables"][0]["grad"] == ["NaN", 0.25]


def test_graph_gradients_keep_inf_apart_from_nan(cli: Invoke) -> None:
    doc = run_json(cli, "graph", "--grads", "--expr", "sum(1 / x)", "--var", "x=tensor([0., 2.])")
    (leaf,) = (n for n in doc["nodes"] if n["leaf"] == "x")
    assert (leaf["grad"]["min"], leaf["grad"]["max"]) == ("-Infinity", -0.25)
    assert (leaf["grad"]["nan"], leaf["grad"]["inf"]) == (False, True)


def _shown(doc: dict[str, Any]) -> list[str]:
    return [f"warning: {w['message']}" for w in doc["warnings"]]


def test_warnings_are_in_the_document_as_on_stderr(cli: Invoke) -> None:
    result = cli(*DIVISION, "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [w["code"] for w in doc["warnings"]] == ["nonfinite_value", "nonfinite_grad"]
    assert doc["warnings"][0] == {
        "code": "nonfinite_value",
        "message": "this gives inf or nan (a division by zero)",
        "hint": "gradients through it will be inf or nan too",
    }
    stderr = result.stderr.splitlines()
    assert [line for line in stderr if line.startswith("warning: ")] == _shown(doc)
    graph = run_json(cli, "graph", "--expr", "sum(1 / x)", "--var", "x=tensor([0., 2.])")
    assert [w["code"] for w in graph["warnings"]] == ["nonfinite_value"]
    assert run_json(cli, "graph")["warnings"] == []


def test_each_job_line_has_its_own_warnings(cli: Invoke, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(
        '[[job]]\ncommand = "grad"\nexpr = "sum(1 / x)"\nvar = ["x=tensor([0., 2.])"]\n\n'
        '[[job]]\ncommand = "grad"\n',
        encoding="utf-8",
    )
    result = cli("run", str(jobs), "--json")
    assert result.exit_code == 0, result.stderr
    first, second = load_lines(result.stdout)
    assert [w["code"] for w in first["warnings"]] == ["nonfinite_value", "nonfinite_grad"]
    assert second["warnings"] == []


def test_schema_requires_every_field_it_names() -> None:
    """Optional fields are null, never absent: every object of the schema requires each of
    its properties. Excepted: the job fields of the head (only `run --json` lines have
    them, all together) and the `is` selectors, which only read `command`."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    lax = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            names = set(node.get("properties", {})) - set(node.get("required", []))
            if names and path and not path.startswith("/$defs/is/"):
                lax.append((path, sorted(names)))
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}/{index}")

    walk(schema, "")
    assert lax == []
    assert set(schema["properties"]) - set(schema["required"]) == set(schema["dependentRequired"])
