"""A `grad_fn` graph into plain records, node by node as `walk` visits them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from autograd_cli.errors import UsageError
from autograd_cli.gcpause import paused_gc
from autograd_cli.records.graph import EdgeRecord, GraphRecord, NodeRecord
from autograd_cli.walk import Edges, nodes, walk

if TYPE_CHECKING:
    import torch

    from autograd_cli.build.sources import SourceMap
    from autograd_cli.inspection.modules import ModuleRecorder

#: What the walk hands on to saved-tensor inspection: the nodes in preorder, and their ids
#: (left empty by a walk that only counts saved bytes: `first_saved` reads the order alone).
Walk = tuple[list[Any], dict[Any, int]]

_names: dict[type, str] = {}  # Node.name() is fixed per node class: ask torch once


def short_name(node: Any) -> str:
    """`torch::autograd::AccumulateGrad` -> `AccumulateGrad`; Python-side names pass as is."""
    cls = type(node)
    name = _names.get(cls)
    if name is None:
        name = _names[cls] = node.name().rsplit("::", 1)[-1]
    return name


def short_names(nodes: list[Any]) -> list[str]:
    """`short_name` of each node: one comprehension over its cache, no Python call a node."""
    name_of = _names.get
    return [name_of(type(node)) or short_name(node) for node in nodes]


_dtype_names: dict[Any, str] = {}  # str(dtype) costs twice a lookup, per node or parameter


def dtype_name(dtype: torch.dtype) -> str:
    """`torch.float32` -> `float32`, the spelling `--dtype` takes."""
    name = _dtype_names.get(dtype)
    if name is None:
        name = _dtype_names[dtype] = str(dtype).removeprefix("torch.")
    return name


class TraceOptions(TypedDict, total=False):
    """What a trace adds to each node besides its name, shape and edges."""

    saved: bool  # the tensors each node keeps for backward
    grads: bool  # run backward (leaving `.grad` alone, see `inspection.flow`): the gradient
    #              at each node and edge
    sources: SourceMap | None  # the code that created each node
    #: A recorder the model ran under: the module that created each node, and the
    #: parameter names of the leaves.
    modules: ModuleRecorder | None


def trace(
    root: torch.Tensor,
    names: Mapping[str, torch.Tensor] | None = None,
    **options: Unpack[TraceOptions],
) -> GraphRecord:
    """The graph that `root.backward()` would run, labelled with `names` where they match.

    Node ids are depth-first preorder from the root, children in `next_functions` order:
    the same computation always gives the same ids (never `id()`), so output is stable.
    """
    graph, walk = traced(root, names, **options)
    del root  # if it was the last reference, the walk now holds the graph alone
    release(walk)
    return graph


def release(walk: Walk) -> None:
    """Let go of the walk's nodes root first, so each is freed on its own.

    Once its nodes have had Python wrappers, torch frees a graph recursively, one C stack
    frame per node: a chain 10^5 deep overflows the stack. Dropping them root first, while
    the rest are still held, frees one node at a time (when nothing else holds the root).
    """
    order, ids = walk
    order.reverse()  # `clear` drops a list's items last first: now the root first
    order.clear()  # `ids` may still hold every node
    ids.clear()  # in insertion order: the root first


def release_graph(tensor: torch.Tensor) -> None:
    """Free `tensor`'s graph root first, and leave `tensor` without one (as `detach_()`).

    For a graph a walk has already been over (`trace`, `show`): the nodes are held here in
    preorder while `tensor` lets go of its root, then dropped root first (see `release`),
    so no deletion reaches further than one node.
    """
    if tensor.grad_fn is None:
        return
    if tensor._base is not None:
        raise UsageError(
            "this tensor is a view of another one, so it cannot let go of its graph in place",
            "release the tensor it is a view of (its ._base), or the graph's result",
        )
    ids = {node: number for number, node in enumerate(nodes(tensor.grad_fn))}
    tensor.detach_()
    release(([], ids))


def traced(
    root: torch.Tensor,
    names: Mapping[str, torch.Tensor] | None = None,
    *,
    saved: bool = False,
    grads: bool = False,
    sources: SourceMap | None = None,
    modules: ModuleRecorder | None = None,
) -> tuple[GraphRecord, Walk]:
    """`trace`, and the walk behind it: for whoever hooks the nodes by their ids next."""
    if root.grad_fn is None:
        what = "a leaf tensor" if root.requires_grad else "a tensor that does not require grad"
        raise UsageError(
            f"the root is {what}, so it has no grad_fn graph",
            "pick a result computed from tensors that require grad",
        )
    names = names or {}
    leaf_names = {id(t): name for name, t in names.items() if t.grad_fn is None}
    node_names = {t.grad_fn: name for name, t in names.items() if t.grad_fn is not None}

    with paused_gc():
        order, ids, nodes, edges = _records(root.grad_fn, leaf_names, node_names)
        if sources is not None:
            for record, node in zip(nodes, order, strict=True):
                record.source = sources.get(node)
        if modules is not None:
            modules.label(order, nodes)
        if saved:
            from autograd_cli.inspection.saved import saved_tensors

            saved_by_node, total = saved_tensors((order, ids), names)
            for record, tensors in zip(nodes, saved_by_node, strict=True):
                record.saved = tensors
        if grads:
            from autograd_cli.inspection.flow import gradient_flow

            flow = gradient_flow(root, order)
            for record, grad in zip(nodes, flow.at_node, strict=True):
                record.grad = grad
            for node_id, outputs in flow.at_outputs.items():
                nodes[node_id].output_grads = outputs
            for edge in edges:
                edge.grad = flow.on_edge.get((edge.src, edge.position))
    graph = GraphRecord(nodes=nodes, edges=edges, saved_bytes=total if saved else None)
    return graph, (order, ids)


def _records(
    root: Any, leaf_names: Mapping[int, str], node_names: Mapping[Any, str]
) -> tuple[list[Any], dict[Any, int], list[NodeRecord], list[EdgeRecord]]:
    """The records of `walk(root)`'s nodes, numbered in its order, and of their edges.

    This is the hot path of a million-node graph, where what torch hands over per node
    (its edges, its output's metadata) costs the most, so each is asked for once.
    A leaf's shape comes from its tensor, cheaper to reach than `_input_metadata`. Each
    shape is kept once (one tuple for every node of that shape). Edges are made at the
    end, when every node has its id.
    """
    order: list[Any] = []
    ids: dict[Any, int] = {}  # filled by the walk
    nodes: list[NodeRecord] = []
    edges: list[EdgeRecord] = []
    shapes: dict[tuple[int, ...], tuple[int, ...]] = {}  # one tuple per distinct shape
    pending: list[tuple[int, Edges]] = []  # a node's edges, made once every node has an id
    # Bound methods in locals: a few percent on a loop that runs once per node.
    add_node, add_edge, add_order = nodes.append, edges.append, order.append
    name_of, known_shape, known_dtype = _names.get, shapes.get, _dtype_names.get
    for node, nexts in walk(root, numbers=ids):
        node_id = ids[node]  # the walk's own int, which the edges to this node share too
        add_order(node)
        name = name_of(type(node)) or short_name(node)
        leaf = shape = dtype = None
        if name == "AccumulateGrad":
            variable = node.variable
            size, dt = variable.shape, variable.dtype
            # a torch.Size hashes and compares as the tuple it is: no tuple made per leaf
            shape = known_shape(size)
            if leaf_names:
                leaf = leaf_names.get(id(variable))
        else:
            # `_input_metadata` is private, but torch's only record of the output's shape.
            meta = node._input_metadata
            size = dt = None
            if meta:
                first = meta[0]
                size, dt = first.shape, first.dtype  # the shape as a list
        if size is not None:
            if shape is None:
                shape = tuple(size)
                shape = shapes.setdefault(shape, shape)
            dtype = known_dtype(dt) or dtype_name(dt)
        tensor = node_names.get(node) if node_names else None
        add_node(NodeRecord(node_id, name, shape, dtype, leaf, tensor))
        if nexts:
            pending.append((node_id, nexts))
    number = ids.__getitem__
    for node_id, nexts in pending:  # every node has its number now
        for position, (child, input_nr) in enumerate(nexts):
            dst = None if child is None else number(child)
            add_edge(EdgeRecord(node_id, dst, input_nr, position))
    return order, ids, nodes, edges
