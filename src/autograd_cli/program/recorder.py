"""What autograd did while a program ran, seen from inside torch.

One `torch.overrides.TorchFunctionMode` watches every torch call of a program, whether the
interpreter runs it or Python runs a trusted file: each op's new graph nodes (claimed for
the code running now, and numbered in creation order), in-place version bumps, grad mode
switches, writes to `.grad`, and each backward call with the nodes the engine ran in its
order and every `.grad` before and after. The runner tells it where the program is
(`where`) and which entry of the timeline collects what happens (`step`).
"""

from __future__ import annotations

import functools
import sys
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from autograd_cli.build.sources import SourceMap, grad_fn_of, node_key, version_of
from autograd_cli.inspection.graph import dtype_name, short_name
from autograd_cli.inspection.modules import active_modules
from autograd_cli.inspection.tensors import numbers
from autograd_cli.records.source import Source
from autograd_cli.records.tensors import Numbers
from autograd_cli.records.timeline import (
    BackwardCall,
    GradChange,
    StepEvent,
    TensorState,
    VersionBump,
)
from autograd_cli.walk import nodes as reachable_nodes

if TYPE_CHECKING:
    import torch

#: Names a tensor by identity in the program's scope (None: it has no name).
Namer = Callable[["torch.Tensor"], "str | None"]

#: Torch ops named like in-place ops that change nothing in place.
_NOT_INPLACE = {"requires_grad_", "retain_grad_", "share_memory_"}
#: In-place by another name: `x += y` (a mode sees `__iadd__`, the interpreter `iadd`),
#: `x[i] = v`.
_INPLACE = {
    *(
        f"{p}{op}"
        for p in ("i", "__i")
        for op in ["add", "sub", "mul", "truediv", "pow", "matmul", "floordiv", "mod"]
    ),
    *(f"__i{op}__" for op in ["add", "sub", "mul", "truediv", "pow", "matmul", "floordiv", "mod"]),
    "setitem",
    "__setitem__",
}

#: The calls `dispatch` treats apart, by name (each then checked by identity).
_WATCHED = {
    "backward",
    "grad",
    "_set_grad_enabled",
    "zero_grad",
    "step",
    "requires_grad_",
    "setattr",
    "__set__",
}


@functools.cache
def _inplace(name: str) -> bool:
    """Whether an op of this name changes its first argument in place (once per name)."""
    return name in _INPLACE or (
        name.endswith("_") and not name.endswith("__") and name not in _NOT_INPLACE
    )


def _base() -> type:
    from torch.overrides import TorchFunctionMode

    return TorchFunctionMode


class Recorder:
    """Builds the mode lazily: this module is imported where torch is not (yet)."""

    def __init__(self, sources: SourceMap, namer: Namer) -> None:
        self.sources = sources
        self.namer = namer
        self.where: Source | None = None  # the code running now
        self.locate: Callable[[], Source] | None = None  # or how to find it, when asked
        self.step: StepEvent | None = None  # None: not kept (a folded loop iteration)
        self.numbers: dict[tuple[int, int], int] = {}  # node key -> creation number
        #: Each backward's root, in the order backward ran on them, held weakly: a training
        #: loop of N steps would otherwise keep N graphs alive (65 KiB a step for a small
        #: MLP), where plain PyTorch frees each when the program lets go of its loss.
        self.backward_roots: list[weakref.ref[torch.Tensor]] = []
        #: The last of them, held: every command starts from it by default, named or not
        #: (`y.sum().backward()`). One graph at most, where plain Python would free it.
        self.last_root: torch.Tensor | None = None
        self.backward_sources: list[Source] = []  # the code of each, in the same order
        #: The leaves each backward's graph reached (ids of their tensors), where a model ran:
        #: `why` names the backward that filled a parameter's `.grad` from these.
        self.backward_reached: list[frozenset[int]] = []
        #: id(tensor) -> (the tensor, where): the last code that switched requires_grad off
        #: (`requires_grad_(False)`, `.requires_grad = False`), and that set `.grad` to None
        #: (`zero_grad()`, `.grad = None`); `why` names them.
        self.frozen: dict[int, tuple[torch.Tensor, Source]] = {}
        self.cleared: dict[int, tuple[torch.Tensor, Source]] = {}
        self.backward_calls = 0
        self.mode_changes: list[str] = []  # words for grad mode switches seen since read
        self.paused = 0
        #: (n, run): the n-th `tensor.backward(...)` is run by
        #: `run(recorder, root, gradient, retain)`
        #: instead, to watch it step by step (`backward` on a program).
        self.watch: tuple[int, Callable[..., Any]] | None = None
        self.scope: dict[str, Any] = {}  # the program's names, as the runner keeps them
        #: id(a named tensor's .grad) -> (the name, the tensor): `w.grad.zero_()` is w's.
        self.grad_owners: dict[int, tuple[str, torch.Tensor]] = {}
        #: The model recorder running with this one: it names parameters (`0.weight`).
        self.modules = active_modules()
        if self.modules is not None:
            self.modules.where = self.source  # so it knows where each module was called
        self._mode: Any = None
        self._paused = _Paused(self)
        #: No line a tracer follows can run inside a torch call (a trusted file without
        #: functions): torch calls run with the line tracer off.
        self.untraced = False

    # --- node numbering -----------------------------------------------------------------

    def number(self, node: Any) -> int:
        """The node's creation number in this program: claimed now if it was not yet."""
        key = node_key(node)
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers) + 1
        return self.numbers[key]

    def label(self, node: Any) -> str:
        """`#3 MulBackward0`; a parameter's node with its qualified name,
        `#3 AccumulateGrad (0.weight)`."""
        kind = short_name(node)
        if kind == "AccumulateGrad" and self.modules is not None:
            param = self.modules.parameter_name(node.variable)
            if param is not None:
                return f"#{self.number(node)} {kind} ({param})"
        return f"#{self.number(node)} {kind}"

    def tensor_name(self, tensor: torch.Tensor) -> str | None:
        """The program's name for `tensor`, else its qualified name as a model's parameter."""
        name = self.namer(tensor)
        if name is None and self.modules is not None:
            name = self.modules.parameter_name(tensor)
        return name

    def node_text(self, node: Any) -> str:
        """How `print(t.grad_fn)` shows a node: as torch does, a number for the address."""
        return f"<{short_name(node)} object #{self.number(node)}>"

    def claim(self, tensor: torch.Tensor) -> None:
        """Every node new since the last claim, for the code running now."""
        if grad_fn_of(tensor) is None:
            return
        claimed = self.sources.record(tensor, self.source())
        if not claimed:
            return
        numbers = self.numbers
        for node in claimed:
            key = node_key(node)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
        if self.step is not None:
            self.step.nodes.extend(self.label(n) for n in claimed)

    # --- the mode -------------------------------------------------------------------------

    @contextmanager
    def active(self) -> Iterator[None]:
        """Watch every torch call inside the block."""
        mode_type = _base()
        recorder = self
        gettrace, settrace = sys.gettrace, sys.settrace

        class _Mode(mode_type):  # type: ignore[misc, valid-type]
            def __torch_function__(
                self,
                func: Any,
                types: Any,
                args: tuple[Any, ...] = (),
                kwargs: dict[str, Any] | None = None,
            ) -> Any:
                if not recorder.untraced:
                    return recorder.call(func, args, kwargs or {})
                # While a trace function is set, Python runs every line of every frame
                # on its slow tracing path, torch's and ours too: off for the call.
                trace = gettrace()
                settrace(None)
                try:
                    return recorder.call(func, args, kwargs or {})
                finally:
                    settrace(trace)

        self._mode = _Mode()
        with self._mode:
            yield

    def pause(self) -> _Paused:
        """Torch calls of the tool's own (printing a tensor) are not the program's."""
        return self._paused

    def call(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """One torch call of a trusted file, seen by the mode: `dispatch`, then the cut it
        made if grad mode was off (by the file's line running now)."""
        result = self.dispatch(func, args, kwargs)
        self.note_grad_off(result, args, self.source)
        return result

    def note_grad_off(
        self, result: Any, args: tuple[Any, ...], where: Callable[[], Source]
    ) -> None:
        """A tensor made with grad mode off from tensors that require grad: a cut `why`
        names (`no_grad`, or `inference_mode`), not a constant. `where()` is the code that
        made it, the same object each time that code runs: a loop keeps one cut."""
        import torch

        if torch.is_grad_enabled() or self.paused or not isinstance(result, torch.Tensor):
            return
        inputs = [a for a in args if isinstance(a, torch.Tensor)]
        inputs += [t for a in args if isinstance(a, list | tuple) for t in a]
        tracked = tuple(t for t in inputs if isinstance(t, torch.Tensor) and t.requires_grad)
        if tracked and not result.requires_grad:
            kind = "inference_mode" if torch.is_inference_mode_enabled() else "no_grad"
            self.sources.cut_at(kind, result, where(), tracked)

    def dispatch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """One torch call: run it, and note what it did to the graph and to `.grad`.

        The mode calls this for every torch call of a trusted file; the interpreter calls
        it directly for each call a program makes (cheaper than a mode, and the same code).
        """
        import torch

        name = getattr(func, "__name__", "")
        if self.paused or name == "__get__":
            return func(*args, **kwargs)
        if name in _WATCHED:
            if func is torch.Tensor.backward:
                return self.backward(args, kwargs)
            if func is torch.autograd.grad:
                return self.autograd_grad(args, kwargs)
            if name == "_set_grad_enabled":
                on = args[0] if args else kwargs.get("mode")
                self.mode_changes.append("grad mode on" if on else "grad mode off")
                return func(*args, **kwargs)
            if name in ("zero_grad", "step"):
                params = _parameters_of(getattr(func, "__self__", None))
                if params:  # a model's or an optimizer's: what it did to each parameter
                    return self.parameters_call(func, args, kwargs, name, params)
            if name == "requires_grad_" or (name == "setattr" and args[1:2] == ("requires_grad",)):
                return self.switch(func, args, kwargs)
            if name == "__set__":
                what = getattr(getattr(func, "__self__", None), "__name__", "")
                if what == "grad":
                    return self.set_grad(args[0], lambda: func(*args))
                if what == "requires_grad":
                    return self.switch(func, args, kwargs)
                return func(*args, **kwargs)
        inplace = _inplace(name)
        owner = self.grad_owners.get(id(args[0])) if inplace and args else None
        before = self.grad_numbers(owner[1]) if owner is not None else None
        result = func(*args, **kwargs)
        if owner is not None and self.step is not None:
            after = self.grad_numbers(owner[1])
            self.step.grads.append(GradChange(owner[0], name, before, after))
        if isinstance(result, torch.Tensor):
            self.claim(result)
        elif isinstance(result, tuple):
            for item in result:
                if isinstance(item, torch.Tensor):
                    self.claim(item)
        if inplace and args and isinstance(args[0], torch.Tensor):
            self.changed(args[0], name)
        return result

    def parameters_call(
        self,
        func: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str,
        params: list[torch.Tensor],
    ) -> Any:
        """`zero_grad()` or an optimizer's `step()`, called as one: each parameter's `.grad`
        it cleared, or each parameter it updated in place, named (a trusted file's own
        `p.grad = None` and `p.add_(...)` inside them are seen one by one instead)."""
        event = self.step
        had = [p.grad is not None for p in params]
        before = [(self.grad_numbers(p), p._version) for p in params] if event else []
        result = func(*args, **kwargs)
        if name == "zero_grad":
            for param, filled in zip(params, had, strict=True):
                if filled and param.grad is None:
                    self.cleared[id(param)] = (param, self.source())
        for param, (grad, version) in zip(params, before, strict=False):
            assert event is not None
            label = self.tensor_name(param) or "tensor"
            if name == "step":
                if param._version != version:
                    event.versions.append(VersionBump(label, name, param._version))
                continue
            after = self.grad_numbers(param)
            if grad is not None or after is not None:
                how = "set to None" if param.grad is None else "zero_"
                event.grads.append(GradChange(label, how, grad, after))
        return result

    def switch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """`requires_grad_(flag)` on a tensor or a module, `.requires_grad = flag`: each
        tensor switched off is kept with the code that did it (switched on, forgotten)."""
        import torch

        result = func(*args, **kwargs)
        receiver = getattr(func, "__self__", None)
        tensors: list[torch.Tensor]
        if isinstance(receiver, torch.nn.Module):
            tensors = list(receiver.parameters())
        else:
            tensors = [t for t in (args[0] if args else None,) if isinstance(t, torch.Tensor)]
        for tensor in tensors:
            if tensor.requires_grad:
                self.frozen.pop(id(tensor), None)
            else:
                self.frozen[id(tensor)] = (tensor, self.source())
        return result

    def source(self) -> Source:
        """The code running now: `where`, or what `locate` works out on demand."""
        if self.locate is not None:
            return self.locate()
        return self.where or Source("")

    # --- what ops did ---------------------------------------------------------------------

    def changed(self, tensor: torch.Tensor, op: str) -> None:
        self.sources.changed(tensor, self.source())
        self.claim(tensor)
        if self.step is not None:
            name = self.tensor_name(tensor)  # an unnamed one (w.grad) shows in the grad scan
            if name is not None:
                self.step.versions.append(VersionBump(name, op.strip("_"), version_of(tensor)))

    def set_grad(self, tensor: torch.Tensor, assign: Callable[[], Any]) -> Any:
        """`t.grad = value`, noted with the gradient before and after."""
        before = self.grad_numbers(tensor)
        result = assign()
        if tensor.grad is None:
            self.cleared[id(tensor)] = (tensor, self.source())
        if self.step is not None:
            name = self.tensor_name(tensor) or "tensor"
            how = "set to None" if tensor.grad is None else "assigned"
            self.step.grads.append(GradChange(name, how, before, self.grad_numbers(tensor)))
        return result

    def grad_numbers(self, tensor: torch.Tensor) -> Numbers | None:
        with self.pause():
            if not (tensor.is_leaf or tensor.retains_grad) or tensor.grad is None:
                return None
            if tensor.grad.is_meta:  # --device meta: a shape, no values to show
                return None
            return numbers(tensor.grad, every_value=False)

    def state(self, name: str, tensor: torch.Tensor) -> TensorState:
        with self.pause():
            node = tensor.grad_fn
            return TensorState(
                name=name,
                shape=tuple(tensor.shape),
                dtype=dtype_name(tensor.dtype),
                requires_grad=tensor.requires_grad,
                is_leaf=tensor.is_leaf,
                grad_fn=self.label(node) if node is not None else None,
                version=version_of(tensor),
            )

    # --- backward -------------------------------------------------------------------------

    def backward(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import torch

        root = args[0]
        self.claim(root)
        modules = active_modules()
        # a model ran: its saved bytes, before backward frees them, and the leaves it reaches
        reached = modules.before_backward(root) if modules is not None else frozenset()
        retain = kwargs.get("retain_graph", args[2] if len(args) > 2 else None)
        create = bool(kwargs.get("create_graph", args[3] if len(args) > 3 else False))
        self.backward_roots.append(weakref.ref(root))
        self.last_root = root
        self.backward_sources.append(self.source())
        self.backward_reached.append(reached)
        self.backward_calls += 1
        kept = retain if retain is not None else create
        if self.watch is not None and self.watch[0] == len(self.backward_roots):
            gradient = kwargs.get("gradient", args[1] if len(args) > 1 else None)
            return self.watch[1](self, root, gradient, bool(kept))
        with self.watched(root, "backward", bool(kept), create):
            return torch.Tensor.backward(*args, **kwargs)  # type: ignore[no-untyped-call]

    def autograd_grad(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import torch

        outputs = args[0] if args else kwargs.get("outputs")
        roots = outputs if isinstance(outputs, list | tuple) else [outputs]
        retain = kwargs.get("retain_graph", args[3] if len(args) > 3 else None)
        create = bool(kwargs.get("create_graph", args[4] if len(args) > 4 else False))
        for root in roots:
            if isinstance(root, torch.Tensor):
                self.claim(root)
        self.backward_calls += 1
        first = roots[0] if roots and isinstance(roots[0], torch.Tensor) else None
        kept = retain if retain is not None else create
        with self.watched(first, "autograd.grad", bool(kept), create):
            return torch.autograd.grad(*args, **kwargs)

    @contextmanager
    def watched(
        self, root: torch.Tensor | None, kind: str, retained: bool, create: bool
    ) -> Iterator[None]:
        """Run one backward with a pre-hook on every node, to see the engine's order."""
        event = self.step  # custom backward code of a trusted file may move `step` on
        if event is None or root is None or root.grad_fn is None:
            yield
            return
        nodes = reachable_nodes(root.grad_fn, key=node_key)
        leaves = [n.variable for n in nodes if hasattr(n, "variable")]
        before = [self.grad_numbers(leaf) for leaf in leaves]
        order: list[Any] = []
        with self.engine_order(root.grad_fn, nodes, order, one_root=kind == "backward"):
            yield
        accumulators = [n for n in nodes if hasattr(n, "variable")]
        ran = {id(node): step for step, node in enumerate(order)}
        changes = sorted(  # in the order backward filled them; leaves it never reached last
            zip(leaves, accumulators, before, strict=True),
            key=lambda change: ran.get(id(change[1]), len(ran)),
        )
        grads = tuple(
            GradChange(self.tensor_name(leaf) or self.label(node), "backward", old, new)
            for leaf, node, old in changes
            if (new := self.grad_numbers(leaf)) is not None
        )
        event.backward.append(
            BackwardCall(
                kind=kind,
                root=self.namer(root) or self.label(root.grad_fn),
                nodes=tuple(self.label(n) for n in order),
                grads=grads,
                graph="retained" if retained else "freed",
                create_graph=create,
            )
        )

    @staticmethod
    @contextmanager
    def engine_order(
        root: Any, nodes: list[Any], order: list[Any], one_root: bool
    ) -> Iterator[None]:
        """Fill `order` with the nodes backward runs, in the engine's order.

        One backward from one root: the engine itself says its order, once, from a hook on
        the root (`_current_graph_task_execution_order`, which needs the backward run
        without device threads: on the CPU it runs on the calling thread either way), so
        a long training loop pays one hook a backward instead of one a node. Several roots
        (`torch.autograd.grad` of a list): a pre-hook on every node records each as it runs.
        """
        import torch

        if one_root:

            def whole(grad_outputs: Any) -> None:
                order.extend(torch._C._current_graph_task_execution_order())  # type: ignore[attr-defined]

            handle = root.register_prehook(whole)
            try:
                with torch.autograd.set_multithreading_enabled(False):
                    yield
            finally:
                handle.remove()
            return
        handles = [n.register_prehook(_appender(order, n)) for n in nodes]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()


class _Paused:
    """`with recorder.pause():` as a plain object, not a generator: the recorder reads a
    gradient several times a loop iteration, and a generator's context costs more than
    the read."""

    __slots__ = ("recorder",)

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def __enter__(self) -> None:
        self.recorder.paused += 1

    def __exit__(self, *exc: object) -> None:
        self.recorder.paused -= 1


def _parameters_of(receiver: Any) -> list[torch.Tensor]:
    """The parameters of a module or an optimizer (none for anything else)."""
    import torch

    if isinstance(receiver, torch.nn.Module):
        return list(receiver.parameters())
    if isinstance(receiver, torch.optim.Optimizer):
        return [p for group in receiver.param_groups for p in group["params"]]
    return []


def _appender(order: list[Any], node: Any) -> Callable[..., None]:
    def prehook(grad_outputs: Any) -> None:
        order.append(node)

    return prehook
