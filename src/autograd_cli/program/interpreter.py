"""Runs a checked program statement by statement, with PyTorch's own semantics.

Values are real Python and torch objects; what a program may do with them is the
whitelist (`program/whitelist.py`), looked up by the value's type. Every tensor op is
bounded before it runs: the elements of its result, the elements made so far, the ops and
loop iterations of the whole run. User text is never given to `eval` or `exec`.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autograd_cli.build.sources import readable
from autograd_cli.errors import (
    ProgramFailed,
    UsageError,
    allocation_error,
    explain_freed,
    explain_inference_saved,
    param,
    torch_message,
)
from autograd_cli.expr import bounds
from autograd_cli.program import models
from autograd_cli.program import whitelist as wl
from autograd_cli.program.folding import LoopFold, Sink, loop_value
from autograd_cli.program.source import (
    REFUSED_HINT,
    Checked,
    Program,
    node_focus,
    node_span,
)
from autograd_cli.records.source import Source
from autograd_cli.records.timeline import GradChange, StepEvent, Timeline

if TYPE_CHECKING:
    from autograd_cli.program.recorder import Recorder


@dataclass(frozen=True)
class Limits:
    """What one run may cost; each is checked before the op or loop that would pass it."""

    max_elements: int = 10_000_000  # one tensor
    max_total_elements: int = 200_000_000  # every tensor the run makes, added up
    max_ops: int = 1_000_000  # tensor ops
    max_iterations: int = 1_000_000  # loop iterations, all loops together
    max_printed: int = 1_000_000  # characters print() may write


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.MatMult: operator.matmul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_INPLACE: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.iadd,
    ast.Sub: operator.isub,
    ast.Mult: operator.imul,
    ast.Div: operator.itruediv,
    ast.Pow: operator.ipow,
    ast.MatMult: operator.imatmul,
    ast.FloorDiv: operator.ifloordiv,
    ast.Mod: operator.imod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
#: Statements `simple` runs, each one entry of the timeline.
_SIMPLE = {ast.Assign, ast.AugAssign, ast.Expr, ast.Assert, ast.Delete, ast.Import, ast.ImportFrom}
#: What torch raises for a program's mistakes; anything else is a bug of ours.
_TORCH_ERRORS = (RuntimeError, TypeError, ValueError, IndexError, OverflowError, ZeroDivisionError)
_MAX_INT = 2**63
#: The widest field or precision an f-string may ask for (`{x:>1000000000}` is a gigabyte).
_MAX_WIDTH = 10_000
#: The most elements `.tolist()` turns into Python numbers (each ~30 bytes, not 4).
_MAX_TOLIST = 100_000
#: `nn.Linear`, `torch.optim.SGD`, ...: what `program/models.py` builds.
_MODEL_BUILDERS = {("torch.nn", n) for n in wl.LAYERS} | {("torch.optim", n) for n in wl.OPTIMIZERS}


@dataclass(frozen=True)
class Namespace:
    """`torch`, `torch.nn.functional`, ...: what an import binds."""

    path: str

    def __repr__(self) -> str:
        return f"<module '{self.path}'>"


@dataclass(frozen=True)
class Callee:
    """Something a program may call, and what it is bound to."""

    kind: str  # "op", "method", "builtin", "mode", "legacy", "node"
    name: str
    op: wl.Op | None = None
    receiver: Any = None


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Interpreter:
    def __init__(
        self,
        program: Program,
        checked: Checked,
        recorder: Recorder,
        timeline: Timeline,
        limits: Limits,
    ) -> None:
        self.program = program
        self.checked = checked
        self.recorder = recorder
        self.timeline = timeline
        self.limits = limits
        self.scope: dict[str, Any] = {}
        self.sink: Sink = timeline.entries
        self.loop: tuple[tuple[str, str], ...] = ()
        self.ops = 0
        self.elements = 0
        self.iterations = 0
        self.printed = 0
        self.statement: ast.stmt | None = None
        self.grads: dict[int, tuple[int, int] | None] = {}  # id(tensor) -> its grad's identity
        self.sources: dict[int, Source] = {}  # id(syntax node) -> its code, see `where`
        self.lines: dict[int, Source] = {}  # line number -> the whole line, see `begin`
        self.keep: list[ast.AST | None] = []
        self.breaks: dict[int, bool] = {}  # id(a `for`) -> whether its body may `break` it
        self.handlers = self._handlers()

    # --- statements -------------------------------------------------------------------------

    def run(self, tree: ast.Module) -> None:
        self.block(tree.body)

    def block(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self.execute(statement)

    def execute(self, node: ast.stmt) -> None:
        kind = type(node)
        if kind in _SIMPLE and not (kind is ast.Expr and _docstring(node)):
            event = self.begin(node)  # the common case first: one type lookup
            self.simple(node)
            self.end(event)
            return
        if isinstance(node, ast.Pass) or _docstring(node):
            return
        if isinstance(node, ast.For):
            self.for_loop(node)
            return
        if isinstance(node, ast.If):
            self.block(
                node.body if self.truth(self.evaluate(node.test), node.test) else node.orelse
            )
            return
        if isinstance(node, ast.With):
            self.with_block(node)
            return
        if isinstance(node, ast.Break):
            raise _Break
        if isinstance(node, ast.Continue):
            raise _Continue
        event = self.begin(node)
        self.simple(node)
        self.end(event)

    def begin(self, node: ast.stmt, code: str | None = None) -> StepEvent | None:
        """Open the timeline's entry for a statement (None while a loop is folded); `end`
        closes it once the statement ran. A failing statement is left open: the run ends.
        (Two calls, not a context manager: this runs for every statement of every loop.)"""
        self.timeline.statements += 1
        event = None
        if self.sink is not None:
            line = node.lineno
            event = StepEvent(self.timeline.statements, line, code or self.text_of(node), self.loop)
            self.sink.append(event)
        self.statement = node
        self.recorder.step = event
        self.recorder.where = self.line_source(node.lineno)
        return event

    def end(self, event: StepEvent | None) -> None:
        if event is not None:
            self.scan_grads(event)
            event.modes.extend(self.recorder.mode_changes)
        self.recorder.mode_changes.clear()

    def line_source(self, line: int) -> Source:
        """A program line as a node's source: one per line, however often it runs."""
        found = self.lines.get(line)
        if found is None:
            found = self.lines[line] = Source(self.program.line(line), line=line)
        return found

    def text_of(self, node: ast.stmt) -> str:
        """The statement as written: its own columns when it ends on its line (`a = 1; b = 2`
        are two), else its first line."""
        line = self.program.line(node.lineno)
        if node.end_lineno == node.lineno and node.end_col_offset is not None:
            return line[node.col_offset : node.end_col_offset]
        return line.strip()

    def simple(self, node: ast.stmt) -> None:
        match node:
            case ast.Assign(targets=targets, value=value):
                result = self.evaluate(value)
                for target in targets:
                    self.assign(target, result)
            case ast.AugAssign(target=target, op=op, value=value):
                self.augmented(target, op, value)
            case ast.Expr(value=value):
                self.evaluate(value)
            case ast.Assert(test=test, msg=msg):
                if not self.truth(self.evaluate(test), test):
                    detail = self.text(self.evaluate(msg)) if msg is not None else ""
                    raise self.failure(node, f"assertion failed{': ' + detail if detail else ''}")
            case ast.Delete(targets=targets):
                for target in targets:
                    if not isinstance(target, ast.Name):
                        raise self.refuse(target, "only names can be deleted")
                    self.scope.pop(target.id, None)
            case ast.Import(names=names) | ast.ImportFrom(names=names):
                for alias in names:
                    name = alias.asname or alias.name.split(".")[0]
                    self.scope[name] = self.imported(self.checked.imports[name])
            case _:
                raise AssertionError(f"the checker let through {type(node).__name__}")

    def imported(self, path: str) -> Any:
        base, _, name = path.rpartition(".")
        if path in wl.NAMESPACES or path in wl.SUBMODULES or path == "torch.nn":
            return Namespace(path)
        return self.member(Namespace(base), name, None)

    def for_loop(self, node: ast.For) -> None:
        """Each iteration runs the body; the timeline keeps the first iterations and the
        last, and one line for those in between (so its size does not grow with N)."""
        items = self.iterable(self.evaluate(node.iter), node.iter)
        count = len(items)
        if self.iterations + count > self.limits.max_iterations:
            raise self.refuse(
                node.iter,
                f"this loop would bring the program to {self.iterations + count:,} loop "
                f"iterations; the limit is {self.limits.max_iterations:,}",
                "loop fewer times",
            )
        self.iterations += count
        outer_sink, outer_loop = self.sink, self.loop
        names = _target_names(node.target)
        fold = LoopFold(node.lineno, outer_sink)
        breaks = self.breaks.get(id(node))
        if breaks is None:
            breaks = self.breaks[id(node)] = _breaks(node.body)
        try:
            for index, item in enumerate(items):
                # Without a `break`, the last iteration is known: the ones before it fold
                # without being recorded. With one, any iteration may be the last.
                sink = fold.iteration(self.timeline.statements, breaks or index == count - 1)
                if sink is not None and self.sink is None:
                    self.grads.clear()  # what unrecorded iterations did to `.grad` is folded
                self.sink = sink
                self.assign(node.target, item)
                if self.sink is not None or _shows_nodes(item):  # a folded iteration's label
                    # is never shown, but a node's label numbers it (and every node after it)
                    self.loop = (*outer_loop, *((n, self.short(self.scope.get(n))) for n in names))
                try:
                    self.block(node.body)
                except _Continue:
                    pass
                except _Break:
                    break
        finally:
            self.sink, self.loop = outer_sink, outer_loop
            fold.end(self.timeline.statements)

    def with_block(self, node: ast.With) -> None:
        """Grad modes, entered in order and left in reverse, each an entry of the timeline."""
        import torch

        with ExitStack() as stack:
            for item in node.items:
                event = self.begin(node)
                manager = self.evaluate(item.context_expr)
                if not isinstance(manager, _mode_types()):
                    raise self.refuse(
                        item.context_expr,
                        "`with` takes a grad mode: torch.no_grad(), torch.enable_grad(), "
                        "torch.inference_mode() or torch.set_grad_enabled(flag)",
                    )
                self.run_torch(item.context_expr, stack.enter_context, (manager,))
                self.recorder.mode_changes.clear()
                # set_grad_enabled(flag) said its switch when it was made (see `call`)
                if event is not None and not isinstance(manager, torch.set_grad_enabled):
                    event.modes.append(_mode_words(manager, torch))
                self.end(event)
            self.block(node.body)
            code = f"(end of: {self.program.line(node.lineno).strip()})"
            event = self.begin(node, code)
            stack.close()
            self.recorder.mode_changes.clear()
            if event is not None:
                inference = " (inference mode)" if torch.is_inference_mode_enabled() else ""
                on = "on" if torch.is_grad_enabled() else "off"
                event.modes.append(f"back to grad mode {on}{inference}")
            self.end(event)

    # --- assignment -------------------------------------------------------------------------

    def assign(self, target: ast.expr, value: Any) -> None:
        import torch

        match target:
            case ast.Name(id=name):
                self.scope[name] = value
                event = self.recorder.step
                if event is not None and isinstance(value, torch.Tensor) and readable(value):
                    event.bound = [b for b in event.bound if b.name != name]
                    event.bound.append(self.recorder.state(name, value))
            case ast.Tuple(elts=elts) | ast.List(elts=elts):
                items = self.iterable(value, target)
                if len(items) != len(elts):
                    raise self.failure(
                        target, f"cannot unpack {len(items)} values into {len(elts)} names"
                    )
                for element, item in zip(elts, items, strict=True):
                    self.assign(element, item)
            case ast.Attribute(value=owner, attr=attr):
                obj = self.evaluate(owner)
                if not isinstance(obj, torch.Tensor) or attr not in wl.TENSOR_SETTABLE:
                    raise self.refuse(
                        target,
                        f"'{attr}' cannot be assigned here",
                        "a program may assign a tensor's .grad and .requires_grad",
                    )
                if attr == "grad":
                    assign = functools.partial(setattr, obj, attr, value)
                    self.run_torch(target, self.recorder.set_grad, (obj, assign))
                else:
                    self.run_torch(target, setattr, (obj, attr, value))
            case ast.Subscript(value=owner, slice=index):
                obj = self.evaluate(owner)
                if not isinstance(obj, torch.Tensor):
                    raise self.refuse(target, "only a tensor's elements can be assigned")
                self.count(target, 0)
                self.run_torch(target, operator.setitem, (obj, self.index(index), value))
            case _:
                raise self.refuse(target, "this cannot be assigned to")

    def augmented(self, target: ast.expr, op: ast.operator, value_node: ast.expr) -> None:
        """`x += y`: in place on a tensor, as in PyTorch (and refused where torch refuses)."""
        import torch

        value = self.evaluate(value_node)
        if isinstance(target, ast.Name):
            if target.id not in self.scope:
                raise self.failure(target, f"name '{target.id}' is not defined")
            current = self.scope[target.id]
        elif isinstance(target, ast.Attribute | ast.Subscript):
            current = self.evaluate(target)
        else:
            raise self.refuse(target, "this cannot be assigned to")
        if isinstance(current, torch.Tensor):
            self.bound_binary(target, current, value, op)
            result = self.run_torch(target, _INPLACE[type(op)], (current, value))
        else:
            result = self.number_op(target, op, current, value)
        self.assign(target, result)

    # --- expressions ------------------------------------------------------------------------

    def evaluate(self, node: ast.expr) -> Any:
        """The value of an expression, by a handler per syntax node type (looked up once
        per node, not matched against every case: this runs for every node of every op)."""
        handler = self.handlers.get(type(node))
        if handler is None:
            raise self.refuse(node, f"`{type(node).__name__}` is not interpreted")
        return handler(node)

    def _handlers(self) -> dict[type[ast.AST], Callable[[Any], Any]]:
        return {
            ast.Constant: self.constant,
            ast.Name: self.lookup,
            ast.Attribute: self.attribute,
            ast.Call: self.call,
            ast.BinOp: self.binop,
            ast.UnaryOp: self.unaryop,
            ast.Compare: self.compare,
            ast.BoolOp: self.boolop,
            ast.IfExp: self.ifexp,
            ast.JoinedStr: self.joinedstr,
            ast.List: self.list_display,
            ast.Tuple: self.tuple_display,
            ast.Subscript: self.subscription,
        }

    def constant(self, node: ast.Constant) -> Any:
        return node.value

    def lookup(self, node: ast.Name) -> Any:
        name = node.id
        if name in self.scope:
            return self.scope[name]
        if name in wl.BUILTINS:
            return Callee("builtin", name)
        raise self.failure(node, f"name '{name}' is not defined")

    def attribute(self, node: ast.Attribute) -> Any:
        return self.member(self.evaluate(node.value), node.attr, node)

    def binop(self, node: ast.BinOp) -> Any:
        return self.binary(node, node.op, self.evaluate(node.left), self.evaluate(node.right))

    def unaryop(self, node: ast.UnaryOp) -> Any:
        return self.unary(node, node.op, self.evaluate(node.operand))

    def boolop(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for item in node.values:
            result = self.evaluate(item)
            truth = self.truth(result, item)
            if truth == isinstance(node.op, ast.Or):
                return result
        return result

    def ifexp(self, node: ast.IfExp) -> Any:
        test = self.truth(self.evaluate(node.test), node.test)
        return self.evaluate(node.body if test else node.orelse)

    def joinedstr(self, node: ast.JoinedStr) -> Any:
        return self.bounded_text(node, "".join(self.piece(v) for v in node.values))

    def list_display(self, node: ast.List) -> Any:
        return [self.evaluate(e) for e in node.elts]

    def tuple_display(self, node: ast.Tuple) -> Any:
        return tuple(self.evaluate(e) for e in node.elts)

    def subscription(self, node: ast.Subscript) -> Any:
        return self.subscript(node, self.evaluate(node.value), node.slice)

    def piece(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant):
            return str(node.value)
        assert isinstance(node, ast.FormattedValue)
        value = self.evaluate(node.value)
        spec = "".join(str(v.value) for v in getattr(node.format_spec, "values", []))
        if any(int(width) > _MAX_WIDTH for width in re.findall(r"\d+", spec)):
            raise self.refuse(node, f"a format spec wider than {_MAX_WIDTH:,} characters")
        if node.conversion in (ord("r"), ord("a")):
            value = self.repr(value)
        elif node.conversion == ord("s") or not spec:
            return self.text(value)
        with self.recorder.pause():
            try:
                return format(value, spec)
            except (*_TORCH_ERRORS,) as error:
                raise self.failure(node, torch_message(error)) from None

    def member(self, obj: Any, attr: str, node: ast.expr | None) -> Any:
        """`obj.attr`, allowed by `obj`'s type only."""
        import torch

        if isinstance(obj, Namespace):
            path = f"{obj.path}.{attr}"
            if attr in wl.SUBMODULES.get(obj.path, ()):
                return Namespace(path)
            table = wl.NAMESPACES.get(obj.path, {})
            if attr in table:
                return Callee("op", path, table[attr])
            if (obj.path, attr) in _MODEL_BUILDERS:
                return Callee("model", path)
            if obj.path == "torch":
                if attr in wl.DTYPES:
                    return getattr(torch, attr)
                if attr in wl.MODES:
                    return Callee("mode", attr)
                if attr == wl.LEGACY_TENSOR:
                    return Callee("legacy", "torch.Tensor")
        elif isinstance(obj, torch.Tensor):
            if attr in wl.METHODS:
                return Callee("method", attr, wl.METHODS[attr], obj)
            if attr in wl.TENSOR_ATTRIBUTES:
                return self.run_torch(node, getattr, (obj, attr))
        elif _is_node(obj):
            if attr in wl.NODE_METHODS:
                return Callee("node", attr, None, obj)
            if attr in wl.NODE_ATTRIBUTES and hasattr(obj, attr):
                return getattr(obj, attr)
        elif models.is_module(obj) or models.is_optimizer(obj):
            return models.member(self, obj, attr, node)
        elif type(obj).__module__ == "torch.return_types" and attr in wl.RESULT_FIELDS:
            return getattr(obj, attr)
        raise self.refuse(node, f"{self.describe(obj)} has no attribute '{attr}' a program may use")

    # --- calls --------------------------------------------------------------------------------

    def call(self, node: ast.Call) -> Any:
        callee = self.evaluate(node.func)
        args = [self.evaluate(a) for a in node.args]
        kwargs = {k.arg: self.evaluate(k.value) for k in node.keywords if k.arg is not None}
        if not isinstance(callee, Callee):
            if models.is_module(callee):
                return models.call_module(self, node, callee, args, kwargs)
            raise self.refuse(node.func, f"{self.describe(callee)} cannot be called")
        match callee.kind:
            case "model":
                return models.construct(self, node, callee.name, args, kwargs)
            case "model_method":
                return models.method(self, node, callee.receiver, callee.name, args, kwargs)
            case "builtin":
                return self.builtin(node, callee.name, args, kwargs)
            case "node":
                return self.recorder_node_name(callee.receiver)
            case "mode":
                import torch

                manager = self.run_torch(node, _mode_factory(callee.name), tuple(args), kwargs)
                # set_grad_enabled(flag) switches the mode as it is made, `with` or not
                if callee.name == "set_grad_enabled" and self.recorder.step is not None:
                    self.recorder.step.modes.append(_mode_words(manager, torch))
                return manager
            case "legacy":
                return self.legacy_tensor(node, args, kwargs)
        assert callee.op is not None
        if callee.kind == "method":
            args = [callee.receiver, *args]
        return self.torch_op(node, callee.op, args, kwargs)

    def recorder_node_name(self, node: Any) -> str:
        from autograd_cli.inspection.graph import short_name

        return short_name(node)

    def torch_op(self, node: ast.expr, op: wl.Op, args: list[Any], kwargs: dict[str, Any]) -> Any:
        import torch

        if op.name == "tolist" and args[0].numel() > _MAX_TOLIST:
            raise self.refuse(
                node,
                f".tolist() of {args[0].numel():,} elements; the limit is {_MAX_TOLIST:,}",
                "print the tensor itself (torch summarises large ones), or a slice of it",
            )
        if (
            op.name == "manual_seed"
            and args
            and _is_int(args[0])
            and not (-(2**63) <= args[0] < 2**64)
        ):
            raise self.refuse(node, "torch takes a seed from -2**63 to 2**64-1")
        count = self.result_size(node, op, args, kwargs)
        self.count(node, count)
        target = _resolve(op.target)
        result = self.run_torch(node, target, tuple(args), kwargs)
        if op.name in ("max", "min") and isinstance(result, tuple) and hasattr(result, "values"):
            return result
        if isinstance(result, torch.Tensor) and readable(result) and result.grad_fn is None:
            self.recorder.sources.define_leaf(result, self.where(node))
        if op.target == "Tensor.detach" or op.name == "detach":
            self.recorder.sources.cut("detach", result, self.where(node), (args[0],))
        return result

    def legacy_tensor(self, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """`torch.Tensor([...])`: a float32 copy of the data (sizes would give garbage)."""
        import torch

        if len(args) != 1 or kwargs or not isinstance(args[0], list | tuple):
            raise self.refuse(
                node,
                "torch.Tensor(...) takes one list of numbers here (torch.Tensor(2, 3) would "
                "hold uninitialised memory)",
                "torch.tensor([...]) or torch.zeros(2, 3)",
            )
        self.count(node, bounds._count(args[0]))
        result = self.run_torch(node, torch.Tensor, (args[0],))
        self.recorder.sources.define_leaf(result, self.where(node))
        return result

    def builtin(self, node: ast.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        import torch

        if name == "print":
            unknown = set(kwargs) - {"sep", "end"}
            if unknown:
                raise self.refuse(node, f"print() takes sep= and end= here, not {unknown.pop()}=")
            sep, end = kwargs.get("sep", " "), kwargs.get("end", "\n")
            text = str(sep).join(self.text(a) for a in args) + str(end)
            self.write(node, text)
            return None
        if kwargs:
            raise self.refuse(node, f"{name}() takes no keywords here")
        if name == "range":
            if not args or len(args) > 3 or not all(_is_int(a) for a in args):
                raise self.refuse(node, "range() takes 1 to 3 whole numbers")
            return range(*[int(a) for a in args])
        if name in ("str",):
            return self.bounded_text(node, self.text(args[0]) if args else "")
        if name in ("enumerate", "zip", "list", "tuple"):
            lists = [self.iterable(a, node) for a in args]
            if name == "enumerate":
                return (
                    list(enumerate(lists[0]))
                    if len(lists) == 1
                    else self.refuse(node, "enumerate(x)")
                )
            if name == "zip":
                return list(zip(*lists, strict=False))
            values = lists[0] if lists else []
            return list(values) if name == "list" else tuple(values)
        function: Callable[..., Any] = {  # type: ignore[assignment]
            "len": len,
            "float": float,
            "int": int,
            "bool": bool,
            "abs": abs,
            "round": round,
            "min": min,
            "max": max,
            "sum": sum,
        }[name]
        if name in ("min", "max", "sum") and len(args) == 1:
            args = [self.iterable(args[0], node)]
        if name in ("abs", "sum", "min", "max") and any(isinstance(a, torch.Tensor) for a in args):
            self.count(node, None)
        return self.run_torch(node, function, tuple(args))

    # --- operators ------------------------------------------------------------------------

    def binary(self, node: ast.BinOp, op: ast.operator, left: Any, right: Any) -> Any:
        import torch

        if isinstance(left, torch.Tensor) or isinstance(right, torch.Tensor):
            left, right = (int(o) if isinstance(o, bool) else o for o in (left, right))
            self.bound_binary(node, left, right, op)
            return self.run_torch(node, _BINARY[type(op)], (left, right))
        if isinstance(left, str) and isinstance(right, str) and isinstance(op, ast.Add):
            return self.bounded_text(node, left + right)
        return self.number_op(node, op, left, right)

    def bound_binary(self, node: ast.expr, left: Any, right: Any, op: ast.operator) -> None:
        shapes = [tuple(t.shape) for t in (left, right) if hasattr(t, "shape")]
        if not isinstance(op, ast.MatMult) and (len(shapes) == 1 or shapes[0] == shapes[1]):
            self.count(node, math.prod(shapes[0]))  # a number, or the same shape: no growth
            return
        if isinstance(op, ast.MatMult) and len(shapes) == 2:
            count = bounds.matmul(*shapes)
        else:
            out = bounds.broadcast(shapes)
            count = math.prod(out) if out is not None else None
        self.count(node, count)

    def number_op(self, node: ast.expr, op: ast.operator, left: Any, right: Any) -> Any:
        numbers = (bool, int, float)
        if not isinstance(left, numbers) or not isinstance(right, numbers):
            raise self.failure(
                node,
                f"unsupported operand types: {self.describe(left)} and {self.describe(right)}",
            )
        if isinstance(op, ast.Pow) and _huge_power(left, right):
            raise self.refuse(node, f"{left} ** {right} is too large: integers are 64-bit here")
        try:
            value = _BINARY[type(op)](left, right)
        except (ZeroDivisionError, OverflowError, TypeError) as error:
            raise self.failure(node, str(error)) from None
        if isinstance(value, complex):
            raise self.failure(node, "this gives a complex number")
        if isinstance(value, int) and abs(value) >= _MAX_INT:
            raise self.refuse(node, "the integer does not fit in 64 bits")
        return value

    def unary(self, node: ast.UnaryOp, op: ast.unaryop, value: Any) -> Any:
        import torch

        if isinstance(op, ast.Not):
            return not self.truth(value, node.operand)
        function = operator.neg if isinstance(op, ast.USub) else operator.pos
        if isinstance(value, torch.Tensor):
            self.count(node, value.numel())
            return self.run_torch(node, function, (value,))
        if isinstance(value, bool | int | float):
            return function(value)
        raise self.failure(
            node, f"bad operand for unary {type(op).__name__}: {self.describe(value)}"
        )

    def compare(self, node: ast.Compare) -> Any:
        import torch

        left = self.evaluate(node.left)
        result: Any = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.evaluate(right_node)
            tensors = isinstance(left, torch.Tensor) or isinstance(right, torch.Tensor)
            if tensors and not isinstance(op, ast.Is | ast.IsNot):
                self.bound_binary(node, left, right, ast.Add())
            result = self.run_torch(node, _COMPARE[type(op)], (left, right))
            if len(node.ops) > 1 and not self.truth(result, node):
                return result
            left = right
        return result

    def truth(self, value: Any, node: ast.expr) -> bool:
        return bool(self.run_torch(node, bool, (value,)))

    def subscript(self, node: ast.Subscript, obj: Any, index_node: ast.expr) -> Any:
        import torch

        index = self.index(index_node)
        if isinstance(obj, torch.Tensor):
            self.count(node, None)
            return self.run_torch(node, operator.getitem, (obj, index))
        if isinstance(obj, tuple | list | str | torch.Size) or models.children(obj) is not None:
            return self.run_torch(node, operator.getitem, (obj, index))
        raise self.refuse(node, f"{self.describe(obj)} cannot be indexed")

    def index(self, node: ast.expr) -> Any:
        import torch

        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            values = [self.evaluate(p) if p is not None else None for p in parts]
            for part, value in zip(parts, values, strict=True):
                if value is not None and not _is_int(value):
                    raise self.refuse(part or node, "a slice takes whole numbers")
            return slice(*values)
        if isinstance(node, ast.Tuple):
            return tuple(self.index(e) for e in node.elts)
        value = self.evaluate(node)
        if isinstance(value, torch.Tensor):
            if value.dim() != 0 or value.is_floating_point():
                raise self.refuse(
                    node,
                    "a tensor index must be one whole number here",
                    "index with ints and slices: x[0], x[1:3], x[:, 0]",
                )
            return int(value)
        if value is None or value is Ellipsis or _is_int(value):
            return value
        raise self.refuse(node, f"{self.describe(value)} cannot be an index")

    # --- bounds -----------------------------------------------------------------------------

    def result_size(
        self, node: ast.expr, op: wl.Op, args: list[Any], kwargs: dict[str, Any]
    ) -> float | None:
        """The most elements `op(*args, **kwargs)` can make, from the arguments alone."""
        import torch

        grow = op.grow
        if grow is wl.Grow.TABLE:
            assert op.function is not None
            function = op.function
            known = set(function.params) | set(function.kwonly)
            given = {k: v for k, v in kwargs.items() if k in known}
            positional = list(args)
            if function.varargs and "size" in kwargs:
                positional = [*positional, kwargs["size"]]
            count = bounds.elements(function, positional, given)
            if count is None and function.constructor:
                raise self.refuse(
                    node,
                    f"{op.name}: the sizes must be whole numbers >= 0",
                    f"usage: torch.{function.usage()}",
                )
            return count
        tensors = [a for a in [*args, *kwargs.values()] if isinstance(a, torch.Tensor)]
        shapes = [tuple(t.shape) for t in tensors]
        largest = max((t.numel() for t in tensors), default=0)
        match grow:
            case wl.Grow.BROADCAST:
                out = bounds.broadcast(shapes)
                return math.prod(out) if out is not None else largest
            case wl.Grow.INPUT | wl.Grow.SCALAR:
                return largest
            case wl.Grow.CAT:
                items = args[0] if args and isinstance(args[0], list | tuple) else []
                return sum(t.numel() for t in items if isinstance(t, torch.Tensor))
            case wl.Grow.OUTER:
                return math.prod(t.numel() for t in tensors) if len(tensors) == 2 else largest
            case wl.Grow.REPEAT:
                sizes = args[1:]
                if len(sizes) == 1 and isinstance(sizes[0], list | tuple | torch.Size):
                    sizes = list(sizes[0])
                if not all(_is_int(s) for s in sizes):
                    return None
                factor = math.prod(max(int(s), 1) for s in sizes)
                return largest * factor if op.name == "repeat" else factor
            case wl.Grow.LINEAR:
                if len(shapes) >= 2 and shapes[0] and shapes[1]:
                    return math.prod(shapes[0][:-1]) * shapes[1][0]
                return largest
        return None

    def count(self, node: ast.expr, elements: float | None) -> None:
        """One more op making `elements`: refused before it runs if a bound would pass."""
        self.ops += 1
        if self.ops > self.limits.max_ops:
            raise self.refuse(
                node,
                f"the program would run more than {self.limits.max_ops:,} tensor ops",
                "run it on less, or loop fewer times",
            )
        if elements is None:
            return
        if elements > self.limits.max_elements:
            size = f"{elements:,.0f}" if math.isfinite(elements) else "infinitely many"
            raise self.refuse(
                node,
                f"this would make a tensor of {size} elements; the limit is "
                f"{self.limits.max_elements:,}",
                f"use smaller shapes, or raise {param('max_elements')}",
            )
        self.elements += int(elements)
        if self.elements > self.limits.max_total_elements:
            raise self.refuse(
                node,
                f"the program would make more than {self.limits.max_total_elements:,} "
                "tensor elements in all",
                "use smaller shapes, or loop fewer times",
            )

    # --- running torch ------------------------------------------------------------------------

    def run_torch(
        self,
        node: ast.AST | None,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """`function(*args, **kwargs)` with torch's errors as the program's failure at `node`."""
        if node is not None:
            self.recorder.locate = lambda: self.where(node)
        try:
            result = self.recorder.dispatch(function, args, kwargs or {})
        except (*_TORCH_ERRORS, MemoryError, AttributeError) as error:
            memory = allocation_error(error)
            if memory is not None:
                raise self.refuse(node, memory.message, memory.hint) from None
            hint = explain_freed(error) or explain_inference_saved(error) or _explain(error)
            raise self.failure(node, torch_message(error), hint) from None
        if node is not None:  # `locate` above says where: the recorder's `source`
            self.recorder.note_grad_off(result, args, self.recorder.source)
        return result

    def line_of(self, node: ast.AST | None) -> int:
        """The node's line, or the running statement's for a node without one."""
        line = getattr(node, "lineno", None) or getattr(self.statement, "lineno", None)
        return int(line or 1)

    def where(self, node: ast.AST | None) -> Source:
        """The code of `node` as a node's source: made once per syntax node, so a loop
        that runs a line 10^4 times does not build 10^4 copies of it."""
        key = id(node)
        found = self.sources.get(key)
        if found is None:
            line = self.line_of(node)
            span = node_span(node) if node is not None else None
            code = self.program.line(line)
            if span is None or node is None:
                found = Source(code, line=line)
            else:
                found = Source(code, *span, line=line, focus=node_focus(node))
            self.sources[key] = found
            self.keep.append(node)  # ids stay unique while the node is alive
        return found

    def failure(self, node: ast.AST | None, message: str, hint: str | None = None) -> ProgramFailed:
        line = self.line_of(node)
        span = node_span(node) if node is not None else None
        return ProgramFailed(
            f"line {line}: {message}", hint, source=self.program.line(line), span=span
        )

    def refuse(self, node: ast.AST | None, message: str, hint: str | None = None) -> UsageError:
        line = self.line_of(node)
        span = node_span(node) if node is not None else None
        return UsageError(
            f"line {line}: {message}",
            hint or REFUSED_HINT,
            source=self.program.line(line),
            span=span,
        )

    # --- values in words ----------------------------------------------------------------------

    def text(self, value: Any) -> str:
        """`str(value)` as plain PyTorch prints it, nodes numbered instead of addressed."""
        if isinstance(value, str):
            return value
        return self.repr(value)

    def repr(self, value: Any) -> str:
        if _is_node(value):
            return self.recorder.node_text(value)
        if type(value) in (tuple, list):  # not torch's named tuples: they print themselves
            inner = ", ".join(self.repr(v) for v in value)
            if isinstance(value, tuple):
                return f"({inner},)" if len(value) == 1 else f"({inner})"
            return f"[{inner}]"
        if isinstance(value, Callee):
            return f"<{value.kind} {value.name}>"
        with self.recorder.pause():
            return str(value) if not isinstance(value, str) else repr(value)

    def short(self, value: Any) -> str:
        """A loop variable's value in a few characters, for the timeline."""
        return loop_value(self.repr(value))

    def describe(self, value: Any) -> str:
        import torch

        if isinstance(value, torch.Tensor):
            return "a tensor"
        if isinstance(value, Namespace):
            return f"module {value.path}"
        if isinstance(value, Callee):
            return f"{value.name}"
        if _is_node(value):
            return "a grad_fn node"
        if models.is_module(value):
            return f"the module {type(value).__name__}"
        return f"a {type(value).__name__}"

    def iterable(self, value: Any, node: ast.expr) -> list[Any] | range:
        import torch

        if isinstance(value, range):
            if len(value) > self.limits.max_iterations:
                raise self.refuse(
                    node,
                    f"a range of {len(value):,} numbers; loops and lists take at most "
                    f"{self.limits.max_iterations:,}",
                    "use a smaller range",
                )
            return value
        if isinstance(value, list | tuple | torch.Size | str):
            return list(value)
        if isinstance(value, torch.Tensor):
            if value.dim() == 0:
                raise self.failure(node, "iteration over a 0-d tensor")
            self.count(node, value.numel())
            return list(self.run_torch(node, list, (value,)))
        layers = models.children(value)
        if layers is not None:
            return layers
        raise self.refuse(node, f"{self.describe(value)} cannot be looped over")

    def write(self, node: ast.AST, text: str) -> None:
        self.printed += len(text)
        if self.printed > self.limits.max_printed:
            raise self.refuse(
                node, f"the program would print more than {self.limits.max_printed:,} characters"
            )
        event = self.recorder.step
        if event is not None:
            event.printed.extend(text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"))

    def bounded_text(self, node: ast.AST, text: str) -> str:
        if len(text) > self.limits.max_printed:
            raise self.refuse(node, f"a string of more than {self.limits.max_printed:,} characters")
        return text

    def scan_grads(self, event: StepEvent) -> None:
        """`.grad` changes no op reports as such: `w.grad.zero_()`, an optimizer's step."""
        import torch

        self.recorder.grad_owners.clear()
        changed = {c.tensor for c in event.grads}
        for call in event.backward:
            changed.update(c.tensor for c in call.grads)
        for name, value in self.scope.items():
            if (
                not isinstance(value, torch.Tensor)
                or not readable(value)
                or not (value.is_leaf or value.retains_grad)
            ):
                continue
            with self.recorder.pause():
                grad = value.grad if value.requires_grad or value.grad is not None else None
            key = (id(grad), grad._version) if grad is not None else None
            if grad is not None:
                self.recorder.grad_owners[id(grad)] = (name, value)
            old = self.grads.get(id(value), "unseen")
            self.grads[id(value)] = key
            if old in ("unseen",) or old == key or name in changed:
                continue
            if grad is not None and old is not None and old[0] == id(grad):
                event.grads.append(
                    GradChange(name, "changed in place", None, self.recorder.grad_numbers(value))
                )


def _docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _target_names(target: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _breaks(body: list[ast.stmt]) -> bool:
    """Whether a `break` in `body` leaves the loop it belongs to (not one nested in it)."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break):
            return True
        if not isinstance(node, ast.For | ast.While | ast.expr):
            stack.extend(ast.iter_child_nodes(node))
    return False


def _shows_nodes(value: Any) -> bool:
    """Whether showing the value (`short`) may number a graph node (see `repr`)."""
    return isinstance(value, tuple | list) or _is_node(value)


def _is_node(value: Any) -> bool:
    return hasattr(value, "next_functions") and hasattr(value, "register_prehook")


def _huge_power(base: Any, exponent: Any) -> bool:
    if not (_is_int(base) and _is_int(exponent)) or exponent <= 0:
        return False
    return bool(abs(base) > 1 and exponent * math.log2(abs(base)) >= 63)


def _resolve(target: str) -> Callable[..., Any]:
    """A whitelist target as the torch object it names (names from the table only)."""
    import torch

    found: Any = torch
    for part in target.split("."):
        found = getattr(found, part)
    return found  # type: ignore[no-any-return]


def _mode_factory(name: str) -> Callable[..., Any]:
    import torch

    return {
        "no_grad": torch.no_grad,
        "enable_grad": torch.enable_grad,
        "inference_mode": torch.inference_mode,
        "set_grad_enabled": torch.set_grad_enabled,
    }[name]


def _mode_types() -> tuple[type, ...]:
    import torch

    return (torch.no_grad, torch.enable_grad, torch.inference_mode, torch.set_grad_enabled)


def _mode_words(manager: Any, torch: Any) -> str:
    name = type(manager).__name__
    if name == "inference_mode":
        return "inference mode on: no graph, and tensors that can never require grad"
    if name == "set_grad_enabled":
        return "grad mode " + ("on" if torch.is_grad_enabled() else "off") + " (set_grad_enabled)"
    return f"grad mode {'off' if name == 'no_grad' else 'on'} ({name})"


def _explain(error: BaseException) -> str | None:
    text = str(error)
    if "leaf Variable that requires grad" in text:
        return (
            "an in-place change of a leaf that requires grad would hide it from autograd: "
            "change it under `with torch.no_grad():`, or use `x = x + ...` (a new tensor)"
        )
    if "does not require grad and does not have a grad_fn" in text:
        return "nothing on its path requires grad: create a leaf with requires_grad=True"
    if "grad can be implicitly created only for scalar outputs" in text:
        return "backward() needs a gradient for a non-scalar tensor: backward(torch.ones_like(t))"
    if "modified by an inplace operation" in text:
        return "a tensor saved for backward was changed in place after it was saved"
    return None
