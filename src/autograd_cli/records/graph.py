"""A `grad_fn` graph as records: its nodes, edges, saved tensors and per-op totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING

from autograd_cli.records.grads import GradRecord
from autograd_cli.records.source import Source

if TYPE_CHECKING:
    from autograd_cli.records.modules import ModuleRecord


@dataclass(frozen=True)
class StaleVersion:
    """A saved tensor changed in place since it was saved: backward would refuse it."""

    version: int  # the tensor's version now
    saved_version: int  # its version when the node saved it


@dataclass(frozen=True)
class SavedRecord:
    """One tensor a node saved for backward (its `_saved_<name>` attribute).

    `alias` says when it is not extra memory of its own: `"output"` (the node's own result),
    `"leaf"` (a leaf tensor, `alias_of` its name when known) or `"input"` (the result of the
    child node `alias_of`, e.g. `"#3"`). `freed`: backward already released it. `stale`: it
    was modified in place after it was saved (torch refuses to hand it back either way).
    """

    name: str  # the attribute without `_saved_`: self, other, result, mat2, ...
    shape: tuple[int, ...] | None
    dtype: str | None
    nbytes: int  # numel * element size; 0 when freed or stale
    alias: str | None = None
    alias_of: str | None = None
    freed: bool = False
    stale: StaleVersion | None = None


# NodeRecord and EdgeRecord are not frozen: a graph can hold a million of each, and a
# frozen dataclass costs twice as much to build (`object.__setattr__` per field).
@dataclass(slots=True)
class NodeRecord:
    """One `grad_fn` node; `id` is its position in a depth-first walk from the root."""

    id: int
    name: str  # Node.name() without its C++ namespace
    shape: tuple[int, ...] | None  # of what the forward op produced (its first output)
    dtype: str | None
    leaf: str | None = None  # for AccumulateGrad: the name of the leaf it fills
    tensor: str | None = None  # a named intermediate whose grad_fn this node is
    saved: tuple[SavedRecord, ...] | None = None  # None: not inspected (trace(saved=False))
    grad: GradRecord | None = None  # d(root)/d(this node's output): what retain_grad() gives
    #: Every output's gradient, when the forward op made more than one (`unbind`, `split`):
    #: `grad` is output 0's. None for the usual single output.
    output_grads: tuple[GradRecord | None, ...] | None = None
    source: Source | None = None  # the code that created this node, when it was recorded
    #: The innermost nn.Module whose forward created it (for AccumulateGrad: the module
    #: that owns the parameter), when modules were recorded.
    module: ModuleRecord | None = None

    @property
    def saved_bytes(self) -> int | None:
        """Bytes of the tensors this node saved, each counted in full (aliases too)."""
        if self.saved is None:
            return None
        return sum(s.nbytes for s in self.saved)


@dataclass(slots=True)
class EdgeRecord:
    """`src.next_functions[position] == (dst, input_nr)`: gradient flows src -> dst.

    `dst is None` is torch's empty edge: that input needs no gradient (a constant).
    """

    src: int
    dst: int | None
    input_nr: int
    position: int
    grad: GradRecord | None = None  # the gradient src passed on to this input

    @property
    def constant(self) -> bool:
        return self.dst is None


@dataclass(frozen=True)
class OpSummary:
    """All nodes of one op name: how many, and the bytes they saved for backward."""

    name: str
    count: int
    saved_bytes: int | None


@dataclass
class GraphRecord:
    """A `grad_fn` graph: nodes in walk order (the root first) and every edge."""

    nodes: list[NodeRecord]
    edges: list[EdgeRecord]
    root: int = 0
    #: Memory the saved tensors hold, each storage once (views and repeats are not extra);
    #: None when saved tensors were not inspected.
    saved_bytes: int | None = None
    _out: dict[int, list[EdgeRecord]] = field(default_factory=dict, repr=False)

    def children(self, node_id: int) -> list[EdgeRecord]:
        """The edges leaving `node_id`, in `next_functions` order."""
        if not self._out:
            for edge in self.edges:
                self._out.setdefault(edge.src, []).append(edge)
        return self._out.get(node_id, [])

    def ops(self) -> list[OpSummary]:
        """One row per op name, most frequent first (ties by name, so output is stable)."""
        # counted in C: a document of a million nodes writes this row too
        counts = Counter(map(attrgetter("name"), self.nodes))
        inspected = self.saved_bytes is not None
        saved: dict[str, int] = {}
        if inspected:  # else no node holds saved tensors to add up
            for node in self.nodes:
                saved[node.name] = saved.get(node.name, 0) + (node.saved_bytes or 0)
        return [
            OpSummary(name, count, saved.get(name, 0) if inspected else None)
            for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ]

    def __iter__(self) -> Iterator[NodeRecord]:
        return iter(self.nodes)
