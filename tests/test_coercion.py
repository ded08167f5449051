"""Option values checked without pydantic (`cli.coercion`) mean what Typer's check says.

Typer's own check (through pydantic) is the oracle: whatever value the quick check decides
must be the value, of the same type, that Typer's gives; whatever Typer refuses, the quick
check leaves to it.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_cli.cli import COMMANDS, app
from autograd_cli.cli.coercion import _FLOAT, _INT, UNDECIDED, Quick
from conftest import run_in_fresh_python


def _params() -> list[tuple[str, Any]]:
    """One option or argument of each kind (type, bounds, repeated) of every command, but
    those with a parser of their own (the quick check calls the same parser) and flags
    (Typer checks no bool it is given)."""
    group = typer.main.get_command(app)
    found: dict[tuple[Any, ...], tuple[str, Any]] = {}
    for name in COMMANDS:
        for param in group.commands[name].params:  # type: ignore[attr-defined]
            info = param.type_descriptor.parameter_info
            if info.parser is None and param.type_descriptor.annotation is not bool:
                kind = (repr(param.type_descriptor.annotation), info.min, info.max, param.multiple)
                found.setdefault(
                    kind, (f"{name} {param.opts[0] if param.opts else param.name}", param)
                )
    return list(found.values())


PARAMS = _params()
NAMED = dict(PARAMS)


def _typer_says(param: Any, value: Any) -> tuple[bool, Any]:
    try:
        return True, Quick(param.type_descriptor).typer_check().coerce(value, param, None)
    except Exception as error:  # a refusal: BadParameter or pydantic's error
        return False, error


def _values(param: Any) -> st.SearchStrategy[Any]:
    annotation = param.type_descriptor.annotation
    words = st.text(max_size=12) | st.sampled_from(
        ["", " 1", "1 ", "+1", "1_0", "0x1", "٣", "\udcff"]
    )
    numbers = (
        st.from_regex(_INT, fullmatch=True)
        | st.from_regex(_FLOAT, fullmatch=True)
        | st.integers().map(str)
        | st.floats().map(repr)
        | st.integers()
        | st.floats()
    )
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        members = list(annotation)
        spelled = [str(m.value) for m in members]
        return (
            st.sampled_from(members)
            | st.sampled_from(spelled)
            | st.sampled_from([s.upper() for s in spelled])
            | words
        )
    if param.multiple:
        return st.lists(words, max_size=3).map(tuple) | words
    if annotation in (int, float):
        return numbers | words
    return words | numbers


@pytest.mark.parametrize(("name", "param"), PARAMS, ids=[n for n, _ in PARAMS])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_quick_check_agrees_with_typers(name: str, param: Any, data: st.DataObject) -> None:
    value = data.draw(_values(param))
    decided = Quick(param.type_descriptor).decide(value, param, None)
    if decided is UNDECIDED:
        return
    accepted, expected = _typer_says(param, value)
    assert accepted, (name, value, expected)
    assert type(decided) is type(expected) and decided == expected, (name, value)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("accumulate --seed", "-12", -12),
        ("accumulate --seed", 0, 0),
        ("graph --depth", "3", 3),
        ("grad --rtol", "1e-05", 1e-05),
        ("grad --dead", 0.1, 0.1),
        ("accumulate --leaf", "w", "w"),
        ("accumulate --var", ("x=randn(3)", "w=ones(3)"), ["x=randn(3)", "w=ones(3)"]),
    ],
)
def test_plain_values_are_decided_without_typer(name: str, value: Any, expected: Any) -> None:
    param = NAMED[name]
    decided = Quick(param.type_descriptor).decide(value, param, None)
    assert type(decided) is type(expected) and decided == expected


def test_an_enum_value_and_a_path_are_decided_without_typer(tmp_path: Path) -> None:
    enum = next(p for _, p in PARAMS if repr(p.type_descriptor.annotation) == "<enum 'DtypeName'>")
    decided = Quick(enum.type_descriptor).decide("float64", enum, None)
    assert decided is enum.type_descriptor.annotation.float64
    path = next(p for n, p in PARAMS if n == "run file")
    batch = tmp_path / "jobs.toml"
    batch.write_text("", encoding="utf-8")
    assert Quick(path.type_descriptor).decide(str(batch), path, None) == batch


@pytest.mark.parametrize(
    "args",
    [["graph"], ["grad", "--expr", "sum(x * x)", "--var", "x=randn(3)", "--seed", "7"]],
    ids=" ".join,
)
def test_plain_options_load_no_pydantic(args: list[str]) -> None:
    """Start-up: importing pydantic costs more than the rest of the command line."""
    _, modules = run_in_fresh_python(*args)
    assert "pydantic" not in modules
