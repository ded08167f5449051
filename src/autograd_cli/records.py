"""Plain records that the inspection layer fills and the renderers read.

They hold only Python values (numbers, strings, nested lists), never tensors, so the
renderers stay free of torch and the JSON schema follows directly from these fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

#: Nested lists of numbers as `Tensor.tolist()` gives them (a bare number for 0-d).
Values = float | int | bool | list["Values"]

SCHEMA = "autograd-cli/1"


@dataclass(frozen=True)
class NodeRecord:
    """One `grad_fn` node; `id` is its position in a depth-first walk from the root."""

    id: int
    name: str  # Node.name() without its C++ namespace
    shape: tuple[int, ...] | None  # of what the forward op produced (its first output)
    dtype: str | None
    leaf: str | None = None  # for AccumulateGrad: the name of the leaf it fills
    tensor: str | None = None  # a named intermediate whose grad_fn this node is


@dataclass(frozen=True)
class EdgeRecord:
    """`src.next_functions[position] == (dst, input_nr)`: gradient flows src -> dst.

    `dst is None` is torch's empty edge: that input needs no gradient (a constant).
    """

    src: int
    dst: int | None
    input_nr: int
    position: int

    @property
    def constant(self) -> bool:
        return self.dst is None


@dataclass
class GraphRecord:
    """A `grad_fn` graph: nodes in walk order (the root first) and every edge."""

    nodes: list[NodeRecord]
    edges: list[EdgeRecord]
    root: int = 0
    _out: dict[int, list[EdgeRecord]] = field(default_factory=dict, repr=False)

    def children(self, node_id: int) -> list[EdgeRecord]:
        """The edges leaving `node_id`, in `next_functions` order."""
        if not self._out:
            for edge in self.edges:
                self._out.setdefault(edge.src, []).append(edge)
        return self._out.get(node_id, [])

    def __iter__(self) -> Iterator[NodeRecord]:
        return iter(self.nodes)


@dataclass(frozen=True)
class TensorRecord:
    """What a learner wants to see of one tensor, its gradient included."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    values: Values | None = None
    grad: Values | None = None


@dataclass(frozen=True)
class Summary:
    """A tensor too large to print: its statistics and a corner of its values."""

    shape: tuple[int, ...]
    min: float | None  # None for an empty tensor
    max: float | None
    mean: float | None
    norm: float | None
    corner: Values  # at most a few rows and columns
    corner_index: str  # where the corner sits, as an index: "[0, :4, :6]"


#: What a view shows of a tensor: every value when they fit on screen, else a summary.
Numbers = Values | Summary
