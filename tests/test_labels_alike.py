"""`labels.Alike`: the DOT and Mermaid exports make the text of nodes that differ only in
their id once per kind; every node's text must still be exactly the one made for it alone."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograd_cli.inspection.graph import trace
from autograd_cli.records.grads import GradRecord
from autograd_cli.records.graph import NodeRecord, SavedRecord
from autograd_cli.records.modules import ModuleRecord
from autograd_cli.render import dot, mermaid
from autograd_cli.render.labels import Alike

#: Few kinds (name, shape, dtype, module), so that nodes repeat one, each with or without
#: what makes a node's text its own; awkward text (quotes, `#`, `%`, newlines, entities).
NAMES = st.sampled_from(["MulBackward0", 'a"b#1%d\n<&>`é'])
MODULE = ModuleRecord(0, 0, "0", "Linear", None, 0, "")
GRAD = GradRecord((2,), 1.0, 0.0, 1.0, nan=False, inf=True)
NODE = st.builds(
    NodeRecord,
    id=st.integers(0, 10**6),
    name=NAMES,
    shape=st.sampled_from([(2,), (3, 4)]),
    dtype=st.just("float32"),
    leaf=st.sampled_from([None, None, None, "x"]),
    tensor=st.sampled_from([None, None, None, "y"]),
    saved=st.sampled_from([None, None, None, (), (SavedRecord("self", (2,), "float32", 8),)]),
    grad=st.sampled_from([None, None, None, GRAD]),
    output_grads=st.sampled_from([None, None, None, (None, GRAD)]),
    module=st.sampled_from([None, MODULE]),
)
FORMATS: list[tuple[Callable[[NodeRecord], str], str]] = [
    (dot._attributes, 'label="#'),
    (mermaid._label, "#35;"),
]


@pytest.mark.parametrize(("text", "lead"), FORMATS)
@given(nodes=st.lists(NODE, max_size=24))
def test_each_node_text_is_its_own(
    text: Callable[[NodeRecord], str], lead: str, nodes: list[NodeRecord]
) -> None:
    alike = Alike(text, lead)
    assert [alike.text(node) for node in nodes] == [text(node) for node in nodes]


def test_mermaid_labels_of_alike_nodes_are_each_their_own() -> None:
    """Nodes that differ only in their id share the rest of their label (made once): each
    still gets its own id, and a node with a name of its own keeps it."""
    x = torch.ones(2, requires_grad=True)
    named = (x * 2.0) * 3.0
    flowchart = mermaid.to_mermaid(trace((named * 4.0).sum(), {"x": x, "named": named}))
    labels = dict(re.findall(r'^  n(\d+)\["([^"]*)"\]$', flowchart, re.MULTILINE))
    assert labels["1"] == "#35;1 MulBackward0<br/>(2,) float32"
    assert labels["2"] == "#35;2 MulBackward0<br/>= named<br/>(2,) float32"
    assert labels["3"] == "#35;3 MulBackward0<br/>(2,) float32"
    assert labels["4"].startswith("#35;4 AccumulateGrad<br/>x<br/>")
