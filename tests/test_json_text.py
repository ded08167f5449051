"""The graph document's records are written straight to text (`render.json._texts`), not
built as dicts and dumped: the bytes must be those `dumps(data(...))` writes, for any
record and any value in it (awkward strings, NaN and inf, None wherever it may be)."""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum, IntEnum
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograd_cli.errors import CliWarning
from autograd_cli.inspection.graph import trace
from autograd_cli.inspection.modules import ModuleRecorder
from autograd_cli.program.run import run_program
from autograd_cli.program.source import from_text
from autograd_cli.records.grads import GradRecord
from autograd_cli.records.graph import (
    EdgeRecord,
    GraphRecord,
    NodeRecord,
    SavedRecord,
    StaleVersion,
)
from autograd_cli.records.modules import ModuleRecord
from autograd_cli.records.reports import VariableGrad
from autograd_cli.records.source import Source
from autograd_cli.records.tensors import Summary, TensorRecord
from autograd_cli.records.timeline import FoldedSteps, StepEvent
from autograd_cli.render.json import _texts, data, document, dumps, to_json
from autograd_cli.render.limits import ViewOptions

#: Everything JSON escapes or spells apart: quotes, backslashes, control characters,
#: non-ASCII (one and two UTF-16 units), lone surrogates, and JSON's own punctuation.
AWKWARD = '"\\/\x00\x01\x1f\x7f\b\f\n\r\t\u2028é\U0001f642\ud800\udfff%s%%{}:,'
TEXT = st.text() | st.text(alphabet=st.sampled_from(AWKWARD))
INT = st.integers()
FLOAT = st.floats()  # NaN, inf, -inf, -0.0 and subnormals included
SHAPE = st.lists(st.integers(0, 2**40), max_size=4).map(tuple)
VALUES = st.recursive(
    FLOAT | INT | st.booleans(), lambda inner: st.lists(inner, max_size=3), max_leaves=8
)
GRAD = st.builds(
    GradRecord,
    shape=SHAPE,
    norm=FLOAT,
    min=FLOAT,
    max=FLOAT,
    nan=st.booleans(),
    inf=st.booleans(),
    values=st.none() | VALUES,
)
SOURCE = st.builds(
    Source,
    code=TEXT,
    start=st.none() | INT,
    end=st.none() | INT,
    line=st.none() | INT,
    focus=st.none() | INT,
)
SAVED = st.builds(
    SavedRecord,
    name=TEXT,
    shape=st.none() | SHAPE,
    dtype=st.none() | TEXT,
    nbytes=INT,
    alias=st.none() | TEXT,
    alias_of=st.none() | TEXT,
    freed=st.booleans(),
    stale=st.none() | st.builds(StaleVersion, INT, INT),
)
MODULE = st.builds(
    ModuleRecord,
    index=INT,
    root=INT,
    path=TEXT,
    cls=TEXT,
    parent=st.none() | INT,
    depth=INT,
    signature=TEXT,
)
NODE = st.builds(
    NodeRecord,
    id=INT,
    name=TEXT,
    shape=st.none() | SHAPE,
    dtype=st.none() | TEXT,
    leaf=st.none() | TEXT,
    tensor=st.none() | TEXT,
    saved=st.none() | st.lists(SAVED, max_size=3).map(tuple),
    grad=st.none() | GRAD,
    output_grads=st.none() | st.lists(st.none() | GRAD, max_size=3).map(tuple),
    source=st.none() | SOURCE,
    module=st.none() | MODULE,
)
EDGE = st.builds(
    EdgeRecord,
    src=INT,
    dst=st.none() | INT,
    input_nr=INT,
    position=INT,
    grad=st.none() | GRAD,
)


def whole_document(graph: GraphRecord) -> str:
    """The graph document as one `dumps` of its data: what the stream must write."""
    fields = data(graph)  # the record's fields, `root` first as the stream writes it
    root = fields.pop("root")
    options = ViewOptions().fields
    return dumps(document("graph", seed=None, **options, root=root, **fields, cut=None))


@given(
    nodes=st.lists(NODE, max_size=6),
    edges=st.lists(EDGE, max_size=6),
    saved_bytes=st.none() | INT,
)
def test_graph_records_as_text_are_their_data_dumped(
    nodes: list[NodeRecord], edges: list[EdgeRecord], saved_bytes: int | None
) -> None:
    graph = GraphRecord(nodes, edges, root=0, saved_bytes=saved_bytes)
    assert to_json(graph) == whole_document(graph)


class Colour(Enum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


class Name(str):
    pass


PLAIN = st.recursive(
    st.none() | st.booleans() | INT | FLOAT | TEXT,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(TEXT, inner, max_size=3)
    ),
    max_leaves=10,
)
SUMMARY = st.builds(
    Summary,
    shape=SHAPE,
    min=st.none() | FLOAT,
    max=st.none() | FLOAT,
    mean=st.none() | FLOAT,
    norm=st.none() | FLOAT,
    corner=VALUES,
    corner_index=TEXT,
    values=st.none() | VALUES,
)
TENSOR = st.builds(
    TensorRecord,
    name=TEXT,
    shape=SHAPE,
    dtype=TEXT,
    requires_grad=st.booleans(),
    is_leaf=st.booleans(),
    grad_fn=st.none() | TEXT,
    values=st.none() | VALUES,
    grad=st.none() | VALUES,
)
#: Values of every kind `data` knows, beyond the graph's records: enums and subclasses of
#: plain types, a `Summary` (its values, when kept), a record with a tag, an inline
#: record (`VariableGrad`), one that is not a dataclass (`CliWarning`), and dicts.
ANY = (
    PLAIN
    | NODE
    | EDGE
    | st.sampled_from([Colour.RED, Level.HIGH, Name('a"b')])
    | SUMMARY
    | st.builds(FoldedSteps, INT, INT, INT)
    | st.builds(StepEvent, INT, INT, TEXT, loop=st.lists(st.tuples(TEXT, TEXT)).map(tuple))
    | st.builds(VariableGrad, TENSOR, st.none() | SUMMARY | VALUES, st.none() | TEXT)
    | st.builds(CliWarning, TEXT, st.none() | TEXT, code=TEXT)
    | st.dictionaries(TEXT, NODE | SUMMARY | PLAIN, max_size=3)
    | st.lists(SAVED | GRAD, max_size=3).map(tuple)
)


@given(st.lists(ANY, max_size=8))
def test_any_value_as_text_is_its_data_dumped(values: list[Any]) -> None:
    """A batch of values of mixed kinds, written column by column, each value as its own
    `dumps(data(value))`, and together the array one `dumps` writes."""
    texts = _texts(values)
    assert texts == [dumps(data(value))[: -len("\n")] for value in values]
    assert "[" + ",".join(texts) + "]\n" == dumps([data(value) for value in values])


def test_nonfinite_and_plain_values_are_spelled_as_dumps_spells_them() -> None:
    values = [math.nan, math.inf, -math.inf, -0.0, 1e300, True, 0, None, "é\ud800"]
    assert _texts(values) == [
        '"NaN"',
        '"Infinity"',
        '"-Infinity"',
        "-0.0",
        "1e+300",
        "true",
        "0",
        "null",
        '"\\u00e9\\ud800"',
    ]


PROGRAM = """\
import torch
from torch import nn
model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
x = torch.randn(5, 3, requires_grad=True)
bad = torch.zeros(1, requires_grad=True)
loss = model(x).sum() + (bad.log() * x.sum()).sum()
"""


def program_graph() -> GraphRecord:
    """A program's graph: the code that made each node, its modules, saved tensors,
    gradients (NaN and inf among them)."""
    with ModuleRecorder() as modules:  # as the command line runs a program
        run = run_program(from_text(PROGRAM, "model.py"), seed=0)
    loss = run.computation("loss")
    return trace(
        loss.result, loss.tensors, saved=True, grads=True, sources=loss.sources, modules=modules
    )


def awkward_graph() -> GraphRecord:
    """A graph with an awkward name, and a node of several outputs (`output_grads`)."""
    x = torch.randn(3, 2, requires_grad=True)
    first, second = x.exp().unbind(1)
    root = (first * second).sum()
    return trace(root, {'x "in"\\\n\u00e9\ud800': x, "%s": first}, saved=True, grads=True)


@pytest.mark.parametrize("build", [program_graph, awkward_graph])
def test_traced_graph_document_is_its_data_dumped(build: Callable[[], GraphRecord]) -> None:
    graph = build()
    assert any(n.saved for n in graph.nodes) and any(n.grad for n in graph.nodes)
    assert to_json(graph) == whole_document(graph)


def test_the_traced_graphs_hold_what_they_are_for() -> None:
    nodes = program_graph().nodes
    assert all(any(getattr(n, f) for n in nodes) for f in ("saved", "module", "source"))
    assert any(n.grad and not n.grad.finite for n in nodes)
    assert any(n.output_grads for n in awkward_graph().nodes)
