"""The one walk over a `grad_fn` graph, which every reader of a graph uses.

Depth-first preorder from the root, children in `next_functions` order, each node once:
the order `graph` numbers its nodes in, so every consumer (the records of `trace`, the
code that made each node, `why`'s reachability, the module and program recorders) sees
the nodes the same way. It is iterative (an explicit stack), so a graph a million nodes
deep cannot hit Python's recursion limit, and a DAG that reuses a subgraph (`y = y + y`,
repeated) costs its size, not the number of its paths. Torch-free: it only follows
`next_functions`.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Hashable, Iterator
from typing import Any

#: `node.next_functions`: one `(child, input_nr)` per input, child None for a constant.
Edges = tuple[tuple[Any, int], ...]


def walk(
    root: Any,
    *,
    key: Callable[[Any], Hashable] | None = None,
    known: Container[Hashable] = (),
    numbers: dict[Hashable, int] | None = None,
) -> Iterator[tuple[Any, Edges]]:
    """Each node reachable from `root` (None: none) with its edges, in preorder.

    `key` tells nodes apart where the node objects themselves should not be held (they
    keep their graph alive); by default the nodes are their own keys. A node whose key is
    in `known` is not visited, nor what is reached only through it: a recorder that has
    claimed part of a graph walks only the new part. `known` is read as the walk goes, so
    the consumer may add to it. `numbers`, an empty dict, is filled as the walk goes:
    each node's key -> its position in the walk (the root's is 0), so a consumer that
    numbers the nodes keeps no table of its own beside the walk's.
    """
    visited: dict[Hashable, int] = {} if numbers is None else numbers
    stack = [] if root is None else [root]
    pop, push = stack.pop, stack.append  # bound once: the loop runs once per node
    while stack:
        node = pop()
        identity = node if key is None else key(node)
        if identity in visited or identity in known:
            continue
        visited[identity] = len(visited)
        edges = node.next_functions
        yield node, edges
        # Pushed one by one, without a list built per node: most nodes have one input,
        # and a walk of a transformer's graph took a third less time than with a list.
        if len(edges) == 1:
            child = edges[0][0]
            if child is not None:
                push(child)
        else:  # a leaf's AccumulateGrad has no edge
            for child, _ in reversed(edges):
                if child is not None:
                    push(child)


def nodes(root: Any, *, key: Callable[[Any], Hashable] | None = None) -> list[Any]:
    """Every node reachable from `root`, in the walk's order."""
    return [node for node, _ in walk(root, key=key)]
