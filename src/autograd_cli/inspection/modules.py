"""Which `nn.Module` made each backward node, and the health of every parameter's gradient.

`ModuleRecorder` watches any code run inside it (a program the tool interprets, the user's
own trusted file, a notebook cell) through torch's *global* module hooks, so it needs no
help from whoever runs the code:

- Before and after every module's forward it notes torch's node counter: autograd numbers
  the nodes it creates on a thread in creation order (`Node._sequence_nr()`). The notes
  cut that numbering into spans, each owned by the innermost module running at the time,
  so a node's module is found by bisection: exact, even for nodes that never reach the
  module's output, and no graph walk while the model runs.
- `AccumulateGrad` nodes carry no number of their own (torch gives them all the largest):
  they belong to the module that owns their parameter, and take its qualified name
  (`0.weight`, `encoder.layers.3.linear1.bias`), as `named_parameters()` spells it from
  the top-level module the code called.
- Global optimizer step hooks keep each parameter before the step, for the
  update-to-weight ratio after it.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autograd_cli.errors import UsageError
from autograd_cli.gcpause import paused_gc
from autograd_cli.inspection.graph import Walk, dtype_name, short_names
from autograd_cli.records.graph import GraphRecord, NodeRecord
from autograd_cli.records.modules import (
    ModelRecord,
    ModuleRecord,
    ModuleStats,
    OpSaved,
    ParameterRecord,
    UpdateRecord,
)
from autograd_cli.walk import nodes, walk

if TYPE_CHECKING:
    from types import TracebackType

    import torch

    from autograd_cli.build.sources import SourceMap
    from autograd_cli.records.source import Source


@dataclass
class _Parameter:
    name: str
    module: int
    tensor: torch.Tensor


@dataclass
class _Update:
    steps: int = 0
    update_norm: float = 0.0
    weight_norm: float = 0.0


@dataclass
class _Roots:
    """Modules known so far, by `id()`; the objects are held, so no id is reused."""

    records: list[ModuleRecord] = field(default_factory=list)
    objects: list[Any] = field(default_factory=list)
    index: dict[int, int] = field(default_factory=dict)
    parameters: dict[int, _Parameter] = field(default_factory=dict)
    calls: list[int] = field(default_factory=list)
    count: int = 0  # roots


def _signatures(named: list[tuple[str, Any]]) -> dict[int, str]:
    """id(module) -> a signature equal for modules built alike, bottom-up without recursion:
    `named_modules()` is preorder, so read backwards every child comes before its parent."""
    found: dict[int, str] = {}
    for _, module in reversed(named):
        params = ",".join(
            f"{n}:{tuple(p.shape)}:{p.dtype}:{p.requires_grad}"
            for n, p in module.named_parameters(recurse=False)
        )
        children = ",".join(f"{n}={found.get(id(c), '?')}" for n, c in module.named_children())
        found[id(module)] = f"{type(module).__qualname__}[{params}]({children})"
    return found


_active: list[ModuleRecorder] = []  # the recorders inside their `with`, innermost last


def active_modules() -> ModuleRecorder | None:
    """The innermost recorder running now, for code that must tell it about a backward()."""
    return _active[-1] if _active else None


class ModuleRecorder:
    """Record every module's forward, and every optimizer step, run inside `with`.

    with ModuleRecorder() as modules:
        loss = criterion(model(x), y)
    graph = trace(loss, saved=True, modules=modules)
    model = modules.model(loss)
    """

    def __init__(self) -> None:
        self._known = _Roots()
        self._stack: list[int] = []
        self._seqs: list[int] = []  # node counter at each span's start, increasing
        self._owners: list[int] = []  # module index owning the span (-1: outside every module)
        self._updates: dict[int, _Update] = {}
        self._before: dict[int, torch.Tensor] = {}
        self._handles: list[Any] = []
        self.optimizer_steps = 0
        self._probe: torch.Tensor | None = None
        self._at_backward: dict[int, int] = {}  # node number -> saved bytes, at last backward
        #: The code running now, when whoever runs the code can tell (a program's recorder):
        #: each module's first call is kept with it.
        self.where: Callable[[], Source] | None = None
        self._called_at: dict[int, Source] = {}

    # --- recording -----------------------------------------------------------------

    def before_backward(self, root: torch.Tensor) -> frozenset[int]:
        """Count the saved bytes of `root`'s graph per node, before backward frees them;
        and give the leaves it reaches (the ids of their tensors), which `why` asks of each
        backward once the program has let go of its roots.

        Called by whoever runs the program (its recorder sees every `backward()`); only
        where a model ran, so a program without modules pays nothing.
        """
        from autograd_cli.inspection.saved import first_saved

        if not self._known.records or root.grad_fn is None:
            return frozenset()
        order = nodes(root.grad_fn)
        counted, _ = first_saved(order)
        self._at_backward = {
            node._sequence_nr(): nbytes
            for node, nbytes in zip(order, counted, strict=True)
            if nbytes
        }
        return frozenset(id(node.variable) for node in order if hasattr(node, "variable"))

    def __enter__(self) -> ModuleRecorder:
        import torch
        from torch.nn.modules import module
        from torch.optim import optimizer

        with torch._C.DisableTorchFunction():
            self._probe = torch.zeros((), requires_grad=True, device="cpu")
        self._handles = [
            module.register_module_forward_pre_hook(self._pre),
            module.register_module_forward_hook(self._post, always_call=True),
            optimizer.register_optimizer_step_pre_hook(self._step_pre),
            optimizer.register_optimizer_step_post_hook(self._step_post),
        ]
        _active.append(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._stack.clear()
        if self in _active:
            _active.remove(self)

    def _counter(self) -> int | None:
        """torch's node counter on this thread now: the number of a throwaway node.

        Made with torch functions switched off, so no recorder of torch calls sees it; None
        under inference mode, where no node is made at all.
        """
        import torch

        assert self._probe is not None
        with torch._C.DisableTorchFunction(), torch.enable_grad():
            node = self._probe.view(()).grad_fn
        return None if node is None else int(node._sequence_nr())

    def _mark(self, owner: int) -> None:
        seq = self._counter()
        if seq is not None:
            self._seqs.append(seq)
            self._owners.append(owner)

    def _pre(self, module: Any, args: Any) -> None:
        import torch

        index = self._known.index.get(id(module))
        if index is None:
            with torch._C.DisableTorchFunction():  # unseen by a recorder of torch calls
                index = self._add_root(module)
        self._known.calls[index] += 1
        if self.where is not None and index not in self._called_at:
            self._called_at[index] = self.where()
        self._stack.append(index)
        self._mark(index)

    def _post(self, module: Any, args: Any, output: Any) -> None:
        if self._stack:
            self._stack.pop()
        self._mark(self._stack[-1] if self._stack else -1)

    def register(self, root: Any) -> None:
        """Know `root` and everything in it before it runs: its submodules are then named
        from it (`first.weight`) even when the code calls them one by one, as a
        `ModuleDict`, which is never called itself, needs."""
        import torch

        if id(root) not in self._known.index:
            with torch._C.DisableTorchFunction():
                self._add_root(root)

    def _add_root(self, root: Any) -> int:
        """Register a module called from outside every known module, with all it contains."""
        known = self._known
        named = list(root.named_modules(remove_duplicate=True))
        signatures = _signatures(named)
        root_number = known.count
        known.count += 1
        by_path = dict(named)
        for path, module in named:
            if id(module) in known.index:
                continue  # shared with a root seen before: it keeps its first path
            parent = None
            if path:
                parent = known.index[id(by_path[path.rpartition(".")[0]])]
            record = ModuleRecord(
                index=len(known.records),
                root=root_number,
                path=path,
                cls=type(module).__name__,
                parent=parent,
                depth=path.count(".") + 1 if path else 0,
                signature=signatures[id(module)],
            )
            known.index[id(module)] = record.index
            known.records.append(record)
            known.objects.append(module)
            known.calls.append(0)
            for local, param in module.named_parameters(recurse=False):
                if id(param) not in known.parameters:
                    qualified = f"{path}.{local}" if path else local
                    known.parameters[id(param)] = _Parameter(qualified, record.index, param)
        return known.index[id(root)]

    def _step_pre(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        import torch

        with torch._C.DisableTorchFunction(), torch.no_grad():
            for param in _optimized(optimizer):
                if param.device.type != "meta":
                    self._before[id(param)] = param.detach().clone()

    def _step_post(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        import torch

        self.optimizer_steps += 1
        for param in _optimized(optimizer):
            before = self._before.pop(id(param), None)
            update = self._updates.setdefault(id(param), _Update())
            update.steps += 1
            if before is not None:
                with torch._C.DisableTorchFunction(), torch.no_grad():
                    update.update_norm = float(torch.linalg.vector_norm(param - before))
                    update.weight_norm = float(torch.linalg.vector_norm(before))

    # --- reading -------------------------------------------------------------------

    @property
    def modules(self) -> list[ModuleRecord]:
        return list(self._known.records)

    def find_parameter(self, name: str) -> tuple[torch.Tensor, ModuleRecord] | None:
        """The parameter with this qualified name (`0.weight`), the first root's first."""
        for param in self._known.parameters.values():
            if param.name == name:
                return param.tensor, self._known.records[param.module]
        return None

    def module_of(self, tensor: torch.Tensor) -> ModuleRecord | None:
        """The module that owns a known parameter."""
        found = self._known.parameters.get(id(tensor))
        return None if found is None else self._known.records[found.module]

    def module_object(self, module: ModuleRecord) -> Any:
        """The `nn.Module` a record stands for."""
        return self._known.objects[module.index]

    def calls(self, module: ModuleRecord) -> tuple[int, Source | None]:
        """How often `module` was called while recording, and where first (when known)."""
        return self._known.calls[module.index], self._called_at.get(module.index)

    def parameter_name(self, tensor: torch.Tensor) -> str | None:
        """A known module's parameter by its qualified name (`0.weight`), else None."""
        found = self._known.parameters.get(id(tensor))
        return None if found is None else found.name

    def owners_of(
        self, order: list[Any], names: list[str], numbers: list[int] | None = None
    ) -> list[int | None]:
        """The index of the module that created each node, None for a node made outside
        every module; given each node's op name and, when read already, its number
        (`_sequence_nr()`). One loop for all: it runs once per node of the graph."""
        params, starts = self._known.parameters, self._seqs
        # the owner of the span a number falls in, by bisect_left's answer: None before the
        # first span and for a span outside every module
        owner = [None, *(None if index < 0 else index for index in self._owners)]
        find = bisect.bisect_left
        if numbers is None:
            numbers = [node._sequence_nr() for node in order]
        found: list[int | None] = []
        add = found.append
        for node, name, number in zip(order, names, numbers, strict=True):
            if name == "AccumulateGrad":  # no number of its own: its parameter's module
                param = params.get(id(node.variable))
                add(None if param is None else param.module)
            else:
                add(owner[find(starts, number)])
        return found

    def label(self, order: list[Any], nodes: list[NodeRecord]) -> None:
        """Give each node record its module, and each parameter's AccumulateGrad its name."""
        records = self._known.records
        owners = self.owners_of(order, [record.name for record in nodes])
        for node, record, index in zip(order, nodes, owners, strict=True):
            record.module = None if index is None else records[index]
            if record.leaf is None and record.name == "AccumulateGrad":
                param = self._known.parameters.get(id(node.variable))
                if param is not None:
                    record.leaf = param.name

    def model(
        self,
        root: torch.Tensor | None = None,
        names: Mapping[str, torch.Tensor] | None = None,
        *,
        saved: bool = False,
        sources: SourceMap | None = None,
        node_records: bool = True,
    ) -> tuple[GraphRecord | None, ModelRecord]:
        """The graph of `root` labelled with modules (None without a root), and the model.

        `saved` also gives each node record its saved tensors (`graph --saved`); the bytes
        per module are counted either way. They are read from the graph as it is now: after
        a `backward()` without `retain_graph` they are gone (`ModelRecord.freed`).
        `node_records=False`: the model's figures only, from a bare walk of the graph, without a
        record per node and edge (the module view shows none unless a module is expanded).
        """
        from autograd_cli.inspection.graph import release, traced
        from autograd_cli.inspection.saved import first_saved

        if not self._known.records:
            raise UsageError(
                "no nn.Module ran while recording, so there is no model to show",
                "call the model (model(x)) inside the recorded code",
            )
        graph = None
        per_node: list[int] = []
        owners: list[int | None] = []
        ops: list[str] = []
        numbers: list[int] | None = None
        freed = at_backward = False
        if root is not None and root.grad_fn is not None:
            if node_records:
                graph, walk = traced(root, names, saved=saved, sources=sources, modules=self)
                owners = [None if n.module is None else n.module.index for n in graph.nodes]
                ops = [n.name for n in graph.nodes]
            else:
                with paused_gc():  # as `traced` does: a record a node, no cycles
                    walk, owners, ops, numbers = self._bare(root.grad_fn)
            per_node, freed = first_saved(walk[0], numbers)
            if freed and self._at_backward:  # counted when backward() began, before it freed
                per_node = [self._at_backward.get(n._sequence_nr(), 0) for n in walk[0]]
                freed, at_backward = False, True
            release(walk)
            if graph is not None:
                graph.saved_bytes = sum(per_node)
        model = self._model(owners, ops, per_node)
        model.freed = freed
        model.at_backward = at_backward
        return graph, model

    def _bare(self, root: Any) -> tuple[Walk, list[int | None], list[str], list[int]]:
        """The walk of `root`'s graph with each node's owner, op name and number
        (`_sequence_nr()`)."""
        # a comprehension a list: faster than one loop appending to three
        order = [node for node, _ in walk(root)]
        ops = short_names(order)
        numbers = [node._sequence_nr() for node in order]
        owners = self.owners_of(order, ops, numbers)
        # the order alone, no ids: only `first_saved` and `release` read this walk
        return (order, {}), owners, ops, numbers

    def _model(self, owners: list[int | None], ops: list[str], saved: list[int]) -> ModelRecord:
        """The model's figures from each node's owner, op name and first-saved bytes."""
        records = self._known.records
        count = len(records)
        # Counted in C (`Counter`); a comprehension finds the nodes that saved anything,
        # about half of a model's, and only they go through the loop's body.
        per_owner = Counter(owners)
        nodes = [per_owner.get(index, 0) for index in range(count)]  # [] calls __missing__
        outside = per_owner.get(None, 0)
        saved_by = [0] * count
        op_counts = Counter(ops)
        op_saved = dict.fromkeys(op_counts, 0)
        outside_saved = 0
        for position in [position for position, nbytes in enumerate(saved) if nbytes]:
            owner, nbytes = owners[position], saved[position]
            if owner is None:
                outside_saved += nbytes
            else:
                saved_by[owner] += nbytes
            op_saved[ops[position]] += nbytes
        parameters = self.parameters()
        numel = [0] * count
        squares: list[float | None] = [None] * count
        for param in parameters:
            numel[param.module] += param.numel
            if param.grad_norm is not None:
                squares[param.module] = (squares[param.module] or 0.0) + param.grad_norm**2
        # Children follow their parent in preorder: add each into its parent, last first.
        for record in reversed(records):
            parent = record.parent
            if parent is None:
                continue
            nodes[parent] += nodes[record.index]
            saved_by[parent] += saved_by[record.index]
            numel[parent] += numel[record.index]
            if squares[record.index] is not None:
                squares[parent] = (squares[parent] or 0.0) + (squares[record.index] or 0.0)
        stats = [  # positional, as `parameters` makes its records: one a module
            ModuleStats(record, calls, made, size, nbytes, None if square is None else square**0.5)
            for record, calls, made, size, nbytes, square in zip(
                records, self._known.calls, nodes, numel, saved_by, squares, strict=True
            )
        ]
        return ModelRecord(
            modules=list(records),
            stats=stats,
            parameters=parameters,
            device=self._device(),
            nodes=len(saved),
            outside=outside,
            outside_saved=outside_saved,
            saved_bytes=sum(saved),
            ops=[
                OpSaved(name, op_counts[name], nbytes)
                for name, nbytes in sorted(op_saved.items(), key=lambda i: (-i[1], i[0]))
            ],
            optimizer_steps=self.optimizer_steps,
        )

    def _device(self) -> str:
        # `is_cpu` and `is_meta` answer without making a `torch.device` a parameter
        types = {
            "cpu" if tensor.is_cpu else "meta" if tensor.is_meta else tensor.device.type
            for tensor in (p.tensor for p in self._known.parameters.values())
        }
        return ",".join(sorted(types)) or "cpu"

    def parameters(self) -> list[ParameterRecord]:
        """Every parameter in module order, with its gradient's health as `.grad` is now.

        Made a column at a time: each fact of every tensor by one comprehension, and the
        records by `map`, positionally (a keyword call matches each keyword against the
        record's 17 fields). A method call a parameter, with keywords, cost 1.6x as much as
        this: more than reading the tensors."""
        params = sorted(self._known.parameters.values(), key=lambda p: p.module)
        tensors = [p.tensor for p in params]
        grads = [tensor.grad for tensor in tensors]
        any_grad = any(grad is not None for grad in grads)
        records = list(
            map(
                ParameterRecord,
                [p.name for p in params],
                [p.module for p in params],
                [tuple(tensor.shape) for tensor in tensors],
                [dtype_name(tensor.dtype) for tensor in tensors],
                [tensor.numel() for tensor in tensors],
                [tensor.requires_grad for tensor in tensors],
            )
        )
        updates, known = self._updates, self._known.records
        for record, tensor, grad in zip(records, tensors, grads, strict=True):
            found = updates.get(id(tensor))
            if found is not None:  # the last optimizer step
                record.update = UpdateRecord(found.steps, found.update_norm, found.weight_norm)
            if tensor.is_meta:  # the gradient's figures, or why there are none
                record.missing = "meta"
            elif grad is None:
                why = "unused" if any_grad else "no_backward"
                record.missing = why if record.requires_grad else "frozen"
            else:
                _measure(record, grad, tensor, known[record.module].cls in _LOOKUPS)
        return records


def _measure(
    record: ParameterRecord, grad: torch.Tensor, tensor: torch.Tensor, lookup: bool
) -> None:
    """Give `record` the norms, extremes, zeros and dead rows of its parameter's gradient
    (in float64: no overflow)."""
    import torch

    with torch.no_grad():
        values = grad.detach().double()
        # a zero row of a weight is a unit no gradient reached (a dead ReLU behind it); of an
        # embedding, only a token the batch did not hold
        if values.dim() >= 2 and values.numel() and not lookup:
            flat = values.reshape(values.shape[0], -1)
            record.rows = flat.shape[0]
            record.dead_rows = int((flat == 0).all(dim=1).sum())
        numel = values.numel()
        record.weight_norm = float(torch.linalg.vector_norm(tensor.detach().double()))
        record.grad_norm = float(torch.linalg.vector_norm(values))
        record.grad_max = float(values.abs().max()) if numel else 0.0
        record.zero_share = float((values == 0).sum()) / numel if numel else 0.0
        record.nan = bool(values.isnan().any())
        record.inf = bool(values.isinf().any())


def _optimized(optimizer: Any) -> Iterable[torch.Tensor]:
    for group in optimizer.param_groups:
        for param in group["params"]:
            if param.grad is not None:
                yield param


#: Modules whose weight rows are looked up, not computed with: zero rows there are normal.
_LOOKUPS = ("Embedding", "EmbeddingBag")
