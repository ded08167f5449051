"""The tensors each node keeps for backward: what autograd holds in memory, and why.

torch exposes them as `_saved_<name>` attributes (one per SavedVariable; a `_raw_saved_<name>`
twin marks which attributes are tensors, not sizes or flags), and as `saved_tensors` on
Python `autograd.Function` nodes. After `backward()` without `retain_graph` they are freed
and reading them raises RuntimeError: that is a fact to report ("freed"), not a crash. The
same read raises when a saved tensor was changed in place since (torch checks its version
as backward would): that is reported apart ("stale"), since backward never ran.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autograd_cli.inspection.graph import Walk, dtype_name, short_name
from autograd_cli.records.graph import SavedRecord, StaleVersion

if TYPE_CHECKING:
    import torch

#: torch's words when a saved tensor changed: "[torch.FloatTensor [3]], which is output 0
#: of AddBackward0, is at version 1; expected version 0 instead."
_STALE = re.compile(r"is at version (\d+); expected version (\d+)")
_SHAPE = re.compile(r"\[torch\.\w+ \[([\d, ]*)\]\]")
_RAW = "_raw_saved_"
_SEQUENCES = (tuple, list)  # a saved TensorList; built once, not per node
_attributes: dict[type, tuple[tuple[str, str], ...]] = {}  # node class -> (name, attribute)


def saved_attributes(node: Any) -> tuple[tuple[str, str], ...]:
    """(name, attribute) of every saved tensor a node of this class has; asked once a class."""
    cls = type(node)
    found = _attributes.get(cls)
    if found is None:
        members = set(dir(cls))
        found = tuple(
            (name, f"_saved_{name}" if f"_saved_{name}" in members else f"saved_{name}")
            for name in sorted(m.removeprefix(_RAW) for m in members if m.startswith(_RAW))
        )
        _attributes[cls] = found
    return found


def stale_of(error: BaseException) -> tuple[StaleVersion, tuple[int, ...] | None] | None:
    """The versions (and shape, when torch names it) of a saved tensor torch refused because
    it was changed in place; None for any other refusal (a tensor freed by backward)."""
    match = _STALE.search(str(error))
    if match is None:
        return None
    shape = _SHAPE.search(str(error))
    dims = None
    if shape is not None:
        dims = tuple(int(d) for d in shape.group(1).split(",") if d.strip())
    return StaleVersion(int(match.group(1)), int(match.group(2))), dims


class _Aliases:
    """Which known tensor a saved tensor is: the node's output, a leaf, or one of its inputs.

    Identity first (torch hands back the saved object itself for inputs and leaves), then
    the data pointer for views of a leaf (the matmul of a vector saves `x.unsqueeze(0)`).
    """

    def __init__(self, walk: Walk, names: Mapping[str, torch.Tensor]) -> None:
        order, self.ids = walk
        self.node_names = {t.grad_fn: n for n, t in names.items() if t.grad_fn is not None}
        self.leaf_ids: dict[int, str] = {}
        self.leaf_ptrs: dict[int, str] = {}
        # Named leaves first, so a name wins over an AccumulateGrad's "#id".
        leaves = [(t, n) for n, t in names.items() if t.grad_fn is None]
        leaves += [(n.variable, f"#{i}") for i, n in enumerate(order) if _is_accumulate(n)]
        for tensor, label in leaves:
            self.leaf_ids.setdefault(id(tensor), label)
            ptr = _data_ptr(tensor)
            if ptr:
                self.leaf_ptrs.setdefault(ptr, label)

    def of(self, tensor: torch.Tensor, node: Any) -> tuple[str | None, str | None]:
        grad_fn = tensor.grad_fn
        if grad_fn is node:
            return "output", None
        leaf = self.leaf_ids.get(id(tensor)) or (
            self.leaf_ptrs.get(_data_ptr(tensor)) if grad_fn is None else None
        )
        if leaf is not None:
            return "leaf", leaf
        if grad_fn is not None and any(grad_fn is child for child, _ in node.next_functions):
            return "input", self.node_names.get(grad_fn) or f"#{self.ids[grad_fn]}"
        return None, None


def _is_accumulate(node: Any) -> bool:
    return short_name(node) == "AccumulateGrad"


def _data_ptr(tensor: torch.Tensor) -> int:
    try:
        return int(tensor.data_ptr())
    except RuntimeError:  # tensors without storage (sparse, meta, ...) have no pointer
        return 0


def _storage(tensor: torch.Tensor) -> torch.UntypedStorage | None:
    """The memory a tensor keeps alive: its storage, which its views share; None for a
    tensor without one.

    Storages are told apart by the storage object's own address (`_cdata`), not their data
    pointer: every meta storage has `data_ptr() == 0`, and would otherwise count as one.
    The saved tensors hold their storages while we look, so no address is reused meanwhile.
    """
    try:
        return tensor.untyped_storage()
    except (RuntimeError, NotImplementedError):
        return None


def first_saved(order: list[Any], numbers: list[int] | None = None) -> tuple[list[int], bool]:
    """Per node, in `order`: the bytes of the storages it was the first to save; and
    whether any node's saved tensors were already freed by backward.

    Each storage counts once, for the earliest-created node that saves it (torch numbers
    nodes in creation order), so a ReLU's output counts for the ReLU, not for the Linear
    after it; and the figures add up to the graph's total however they are grouped.
    `numbers`: the nodes' `_sequence_nr()`, when the caller has read them already.
    """
    import torch

    seen: set[int] = set()
    result = [0] * len(order)
    freed = False
    if numbers is None:
        numbers = [node._sequence_nr() for node in order]
    saving: list[tuple[int, int, tuple[tuple[str, str], ...]]] = []
    for position, node in enumerate(order):  # the nodes that save anything, by number
        attributes = _attributes.get(type(node))  # saved_attributes' cache, without a call
        if attributes is None:
            attributes = saved_attributes(node)
        if attributes:
            saving.append((numbers[position], position, attributes))
    saving.sort()
    for _, position, attributes in saving:
        node = order[position]
        for _, attribute in attributes:
            try:
                value = getattr(node, attribute)
            except RuntimeError as error:
                freed = freed or stale_of(error) is None
                continue
            for item in value if isinstance(value, _SEQUENCES) else (value,):
                if isinstance(item, torch.Tensor):
                    storage = _storage(item)
                    if storage is None:
                        continue
                    key = storage._cdata
                    if key not in seen:
                        seen.add(key)
                        result[position] += storage.nbytes()
    return result, freed


def saved_tensors(
    walk: Walk, names: Mapping[str, torch.Tensor]
) -> tuple[list[tuple[SavedRecord, ...]], int]:
    """Every node's saved tensors, and the bytes they hold together (each storage once)."""
    import torch

    order = walk[0]
    aliases = _Aliases(walk, names)
    storages: dict[int, int] = {}
    result: list[tuple[SavedRecord, ...]] = []
    for node in order:
        records: list[SavedRecord] = []
        for name, attribute in saved_attributes(node):
            try:
                value = getattr(node, attribute)
            except RuntimeError as error:
                stale = stale_of(error)
                if stale is None:  # freed by backward()
                    records.append(SavedRecord(name, None, None, 0, freed=True))
                else:
                    records.append(SavedRecord(name, stale[1], None, 0, stale=stale[0]))
                continue
            items = list(enumerate(value)) if isinstance(value, _SEQUENCES) else [(None, value)]
            for index, tensor in items:
                if not isinstance(tensor, torch.Tensor):
                    continue  # an undefined (None) tensor: torch saved nothing
                alias, alias_of = aliases.of(tensor, node)
                records.append(
                    SavedRecord(
                        name if index is None else f"{name}[{index}]",
                        tuple(tensor.shape),
                        dtype_name(tensor.dtype),
                        tensor.numel() * tensor.element_size(),
                        alias,
                        alias_of,
                    )
                )
                storage = _storage(tensor)
                if storage is not None:
                    storages[storage._cdata] = storage.nbytes()
        result.append(tuple(records))
    return result, sum(storages.values())
