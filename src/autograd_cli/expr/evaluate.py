"""A parsed tree -> torch values, with every bound checked before anything is allocated.

Before each torch call, `bounds.elements` works out from the argument shapes how many
elements the result can have, so a result over `--max-elements` is refused before memory
is touched. Python-number arithmetic is bounded too (`9**9**9**9` is refused from the
exponent's size, not computed).
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from autograd_cli.defaults import DEFAULT_MAX_ELEMENTS, OP_WORK, TOTAL_ELEMENTS_FACTOR
from autograd_cli.errors import (
    CliWarning,
    UsageError,
    allocation_error,
    explain_inference_saved,
    param,
    torch_message,
)
from autograd_cli.expr import bounds
from autograd_cli.expr.parser import (
    MAX_INT,
    Attribute,
    Binary,
    Call,
    Index,
    Items,
    Name,
    Node,
    Number,
    Slice,
    String,
    Unary,
)
from autograd_cli.expr.whitelist import DtypeRule, Function, Size
from autograd_cli.records.source import Source, Span
from autograd_cli.records.tensors import format_shape

if TYPE_CHECKING:
    import torch

    from autograd_cli.build.sources import SourceMap

_NUMBER_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "@": operator.matmul,
}

_INDEX_HINT = "an index into a dimension of size n runs from -n to n-1"
_MATMUL_HINT = "for a @ b, the last dim of a must equal the first (1-d b) or second-to-last of b"
#: What torch raises for bad arguments; anything else is a bug and surfaces as one.
_TORCH_ERRORS = (RuntimeError, TypeError, ValueError, IndexError, OverflowError)


def describe(value: object) -> str:
    """A value in words, for error messages."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"a tensor of shape {format_shape(tuple(shape))}"
    if isinstance(value, bool | int | float):
        return f"the number {value}"
    return f"a {type(value).__name__}"


class Evaluator:
    """Evaluates trees in a scope of named values.

    `cache` keeps each constructor's tensor by node, so a rebuild (for a Jacobian or
    gradcheck) reuses the same random draws instead of drawing new ones. `notes`
    collects torch's warnings and where an op first turned finite inputs into inf or nan
    (None: do not look). `sources` records which span of the text made each graph node,
    each cut (detach, no_grad, inference_mode) and each in-place change, as they happen.

    `elements_made` counts the elements of every tensor made so far, bounded by
    `TOTAL_ELEMENTS_FACTOR` times `max_elements` (checked before each allocation); `work`
    the element operations they took (a matmul's multiply-adds, `OP_WORK` a call): what
    one more evaluation costs, for the bounds of Jacobians and gradcheck.
    """

    def __init__(
        self,
        *,
        dtype: torch.dtype,
        generator: torch.Generator,
        max_elements: int = DEFAULT_MAX_ELEMENTS,
        cache: dict[Node, torch.Tensor] | None = None,
        notes: list[CliWarning] | None = None,
        sources: SourceMap | None = None,
    ) -> None:
        self.dtype = dtype
        self.generator = generator
        self.max_elements = max_elements
        self.cache = cache if cache is not None else {}
        self.warnings = notes
        self.sources = sources
        self.elements_made = 0
        self.work = 0.0
        self.code = ""  # the text the spans of the tree being evaluated point into
        self.reads: list[object] | None = None  # values of names read inside a wrapper

    def evaluate_code(self, code: str, node: Node, scope: Mapping[str, object]) -> object:
        """Evaluate a whole tree parsed from `code` (what its spans are columns of)."""
        self.code = code
        return self.evaluate(node, scope)

    def evaluate(self, node: Node, scope: Mapping[str, object]) -> object:
        match node:
            case String(value=value) if not value.isprintable():
                # torch would cut its message at a NUL ("Order " and no more)
                raise UsageError(
                    f"the string {value!r} holds a control character",
                    "strings name options, such as 'fro' or 'mean'",
                    span=node.span,
                )
            case Number(value=value) | String(value=value):
                return value
            case Name(id=name):
                if self.reads is not None:
                    self.reads.append(scope[name])
                return scope[name]
            case Items(items=items):
                return [self.item(i, scope) for i in items]
            case Unary(op=op, operand=operand):
                return self.unary(node, op, self.evaluate(operand, scope))
            case Binary(op=op, left=left, right=right):
                return self.binary(
                    node, op, self.evaluate(left, scope), self.evaluate(right, scope)
                )
            case Call(function=function):
                return self.call(node, function, scope)
            case Attribute(value=value, name=name):
                tensor = self.tensor(value, scope, f".{name}")
                return self.run(node, node.span, getattr, (tensor, name))
            case Index(value=value, items=items):
                tensor = self.tensor(value, scope, "indexing")
                index = tuple(
                    _bounded(self.index(i, scope), tensor.shape, dim) for dim, i in enumerate(items)
                )
                try:
                    return self.run(node, node.span, operator.getitem, (tensor, index))
                except UsageError as error:
                    hint = error.hint or _INDEX_HINT
                    raise UsageError(error.message, hint, span=error.span) from None
        raise AssertionError(f"the parser made a node the evaluator does not know: {node!r}")

    # --- values that are not tensors ------------------------------------------------------

    def item(self, node: Node, scope: Mapping[str, object]) -> object:
        value = _whole(self.evaluate(node, scope))
        if not isinstance(value, bool | int | float | list):
            raise UsageError(
                f"a list holds numbers and lists, not {describe(value)}",
                "combine tensors with + - * / @ or the functions, not inside [ ]",
                span=node.span,
            )
        return value

    def index(self, node: Node, scope: Mapping[str, object]) -> int | slice:
        if isinstance(node, Slice):
            parts = (node.lower, node.upper, node.step)
            lower, upper, step = (self.whole(p, scope) if p else None for p in parts)
            return slice(lower, upper, step)
        return self.whole(node, scope)

    def whole(self, node: Node, scope: Mapping[str, object]) -> int:
        value = self.evaluate(node, scope)
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(
                f"an index must be a whole number, not {describe(value)}",
                "plain indexing and slicing only: x[0], x[1:3], x[:, 0]",
                span=node.span,
            )
        return value

    def tensor(self, node: Node, scope: Mapping[str, object], use: str) -> torch.Tensor:
        import torch

        value = self.evaluate(node, scope)
        if not isinstance(value, torch.Tensor):
            raise UsageError(
                f"{use} needs a tensor, not {describe(value)}",
                "make one with tensor(...), ones(...), ...",
                span=node.span,
            )
        return value

    def number_op(self, node: Binary, op: str, left: object, right: object) -> object:
        if op == "@":
            raise UsageError("@ multiplies tensors, not numbers", "use *", span=node.op_span)
        if op == "**" and _huge_power(left, right):
            raise UsageError(
                f"{left} ** {right} is too large: integers are limited to 64 bits",
                "use a float base for big powers, e.g. 10.0 ** 30",
                span=node.span,
            )
        try:
            value = _NUMBER_OPS[op](left, right)
        except ZeroDivisionError:
            raise UsageError("division by zero", span=node.span) from None
        except OverflowError:
            raise UsageError("the number is too large for a float", span=node.span) from None
        if isinstance(value, complex):
            raise UsageError("this gives a complex number", span=node.span)
        if isinstance(value, int) and abs(value) >= MAX_INT:
            raise UsageError("the integer does not fit in 64 bits", span=node.span)
        return value

    # --- ops on tensors ---------------------------------------------------------------------

    def unary(self, node: Unary, op: str, value: object) -> object:
        import torch

        if isinstance(value, torch.Tensor):
            fn = operator.neg if op == "-" else operator.pos
            return self.run(node, node.span, fn, (value,))
        if isinstance(value, bool | int | float):
            return -value if op == "-" else +value
        raise UsageError(f"unary {op} needs a tensor or a number", span=node.span)

    def binary(self, node: Binary, op: str, left: object, right: object) -> object:
        import torch

        numbers = (bool, int, float, torch.Tensor)
        for operand in (left, right):
            if not isinstance(operand, numbers):
                raise UsageError(
                    f"{op} works on tensors and numbers, not on {describe(operand)}",
                    "make a tensor with tensor([...])",
                    span=node.span,
                )
        if not isinstance(left, torch.Tensor) and not isinstance(right, torch.Tensor):
            return self.number_op(node, op, left, right)
        # Beside a tensor torch keeps a Python bool as a bool Scalar, which some backward
        # formulas cannot read (`True ** x`: an internal assert in PowBackward2); as numbers
        # bools are the ints 0 and 1, as in Python.
        left, right = (int(o) if isinstance(o, bool) else o for o in (left, right))
        shapes = [tuple(t.shape) for t in (left, right) if isinstance(t, torch.Tensor)]
        out = bounds.broadcast(shapes)
        if op != "@" and out is None:
            raise UsageError(
                f"{describe(left)} {op} {describe(right)}: the shapes do not broadcast",
                "compared from the right, each pair of dims must be equal, or one of them 1",
                span=node.op_span,
            )
        try:
            if op == "@":
                count = bounds.matmul(*shapes) if len(shapes) == 2 else None
            else:
                count = math.prod(out or ())
            self.check_size(node, count)
            inner = shapes[0][-1] if op == "@" and shapes and shapes[0] else 1
            return self.run(
                node, node.op_span, _NUMBER_OPS[op], (left, right), elements=count, inner=inner
            )
        except UsageError as error:
            raise UsageError(
                f"{describe(left)} {op} {describe(right)}: {error.message}",
                error.hint or (_MATMUL_HINT if op == "@" else None),
                span=error.span,
            ) from None

    def call(self, node: Call, function: Function, scope: Mapping[str, object]) -> object:
        import torch

        if function.wrapper:
            return self.wrapped(node, function, scope)
        args = [self.evaluate(a, scope) for a in node.args]
        kwargs = {k: self.evaluate(v, scope) for k, v in node.kwargs}
        target = _resolve(function.target)
        if function.constructor:
            return self.construct(node, function, target, args, kwargs)
        nodes = dict(zip(function.params, node.args, strict=False)) | dict(node.kwargs)
        values = dict(zip(function.params, args, strict=False)) | kwargs
        for argument in function.tensors:
            if argument in nodes and not isinstance(values[argument], torch.Tensor):
                raise UsageError(
                    f"{function.name} needs a tensor as its {argument}, "
                    f"not {describe(values[argument])}",
                    "make one with tensor(...)",
                    span=nodes[argument].span,
                )
        count = bounds.elements(function, args, kwargs)
        self.check_size(node, count)
        shape = getattr(args[0], "shape", ()) if args else ()
        inner = shape[-1] if function.size is Size.MATMUL and shape else 1
        try:
            result = self.run(
                node, node.span, target, tuple(args), kwargs, elements=count, inner=inner
            )
        except UsageError as error:
            raise _in_call(function, error) from None
        receiver = values.get("input")
        if self.sources is not None and isinstance(receiver, torch.Tensor):
            if function.cut is not None:
                self.sources.cut(function.cut, result, self.source(node), (receiver,))
            if function.inplace:
                self.sources.changed(receiver, self.source(node))
        # max(x, dim=0) gives (values, indices): the values are what gets differentiated.
        return getattr(result, "values", result) if isinstance(result, tuple) else result

    def wrapped(self, node: Call, function: Function, scope: Mapping[str, object]) -> object:
        """`no_grad(expr)`: evaluate the argument under the mode, so torch records no graph."""
        import torch

        argument = dict(zip(function.params, node.args, strict=False)) | dict(node.kwargs)
        reads: list[object] = []
        outer, self.reads = self.reads, reads
        try:
            with _resolve(function.target)():
                value = self.evaluate(argument["input"], scope)
        finally:
            self.reads = outer
            if outer is not None:
                outer.extend(reads)
        if self.sources is not None and isinstance(value, torch.Tensor):
            inputs = tuple(r for r in reads if isinstance(r, torch.Tensor))
            self.sources.cut(function.cut or "", value, self.source(node), inputs)
        return value

    def source(self, node: Node) -> Source:
        focus = node.op_span[0] if isinstance(node, Binary) else None
        if isinstance(node, Call):
            focus = node.name_span[0]
        return Source(self.code, *node.span, focus=focus)

    def construct(
        self,
        node: Call,
        function: Function,
        target: Callable[..., Any],
        args: list[object],
        kwargs: dict[str, object],
    ) -> torch.Tensor:
        import torch

        cached = self.cache.get(node)
        if cached is not None:
            return cached.to(self.dtype) if cached.is_floating_point() else cached
        if function.name == "tensor":
            given = [*node.args, *(value for _, value in node.kwargs)]
            for value, where in zip([*args, *kwargs.values()], given, strict=True):
                if isinstance(value, torch.Tensor):
                    raise UsageError(
                        "tensor() takes numbers or lists; this is already a tensor",
                        span=where.span,
                    )
        # A size held in a variable (--var n=3) is a 0-d integer tensor: its number.
        args = [_whole(a) for a in args]
        kwargs = {k: _whole(v) for k, v in kwargs.items()}
        if function.size is Size.SHAPE and not function.varargs:  # full(3, 1.0): one dim
            args = [
                (a,) if isinstance(a, int) and p == "size" else a
                for a, p in zip(args, function.params, strict=False)
            ]
            if isinstance(kwargs.get("size"), int):
                kwargs["size"] = (kwargs["size"],)
        floats = _has_float(args) or _has_float(list(kwargs.values()))
        if function.dtype is DtypeRule.FLOAT or (function.dtype is DtypeRule.INFER and floats):
            kwargs = {**kwargs, "dtype": self.dtype}
        if function.random:
            kwargs = {**kwargs, "generator": self.generator}
        count = bounds.elements(function, args, kwargs)
        if count is None:  # not sizes: refused here, so nothing unbounded reaches torch
            raise UsageError(
                f"{function.name}: the sizes must be whole numbers >= 0",
                f"usage: {function.usage()}",
                span=node.span,
            )
        self.check_size(node, count)
        try:
            result: torch.Tensor = self.run(
                node, node.span, target, tuple(args), kwargs, elements=count
            )
        except UsageError as error:
            raise _in_call(function, error) from None
        self.cache[node] = result
        return result

    @property
    def max_total(self) -> int:
        return TOTAL_ELEMENTS_FACTOR * self.max_elements

    def check_size(self, node: Node, count: float | None) -> None:
        if count is not None and count > self.max_elements:
            if isinstance(count, int):
                size = f"{count:,}"
            else:
                size = f"{count:,.0f}" if math.isfinite(count) else "infinitely many"
            raise UsageError(
                f"this would make a tensor of {size} elements; the limit is {self.max_elements:,}",
                f"use smaller shapes, or raise {param('max_elements')}",
                span=node.span,
            )
        if count is not None and self.elements_made + count > self.max_total:
            raise UsageError(
                f"this would bring the elements of every tensor made so far to "
                f"{self.elements_made + count:,.0f}; the limit is {self.max_total:,} "
                f"({TOTAL_ELEMENTS_FACTOR} x {param('max_elements')})",
                f"use smaller shapes or fewer variables, or raise {param('max_elements')}",
                span=node.span,
            )

    def run(
        self,
        node: Node,
        span: Span,
        fn: Callable[..., Any],
        args: tuple[object, ...],
        kwargs: Mapping[str, object] | None = None,
        *,
        elements: float | None = None,
        inner: int = 1,
    ) -> Any:
        """`fn(*args, **kwargs)`, torch's errors and warnings pointed at `span`.

        `elements`: the size of the result, as `check_size` judged it, for the message
        when there is no memory for it; `inner`: a matmul's inner dim (its cost per element).
        """
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = fn(*args, **(kwargs or {}))
        except (*_TORCH_ERRORS, MemoryError) as error:
            memory = allocation_error(error, elements)
            if memory is not None:
                memory.span = span
                raise memory from None
            raise UsageError(
                torch_message(error), explain_inference_saved(error), span=span
            ) from None
        made = sum(
            getattr(t, "numel", int)() for t in (result if isinstance(result, tuple) else (result,))
        )
        self.elements_made += made
        self.work += OP_WORK + made * max(inner, 1)
        if self.elements_made > self.max_total:  # a call no bound could judge beforehand (x.T, -x)
            self.check_size(node, 0)
        if self.warnings is not None:
            said = dict.fromkeys(torch_message(w.message) for w in caught)
            self.warnings += [
                CliWarning(f"torch warns: {m}", code="torch_warning", span=span) for m in said
            ]
        self.look_for_nonfinite(node, args, result)
        if self.sources is not None:
            for tensor in result if isinstance(result, tuple) else (result,):
                if getattr(tensor, "grad_fn", None) is not None:
                    self.sources.record(tensor, self.source(node))
        return result

    def look_for_nonfinite(self, node: Node, args: tuple[object, ...], result: object) -> None:
        import torch

        if self.warnings is None or not isinstance(result, torch.Tensor):
            return
        if all_finite(result):
            return
        for arg in args:
            if isinstance(arg, torch.Tensor) and not all_finite(arg):
                return  # inherited from an input: reported where it first appeared
        division = isinstance(node, Binary) and node.op == "/"
        self.warnings.append(
            CliWarning(
                "this gives inf or nan" + (" (a division by zero)" if division else ""),
                "gradients through it will be inf or nan too",
                code="nonfinite_value",
                span=node.span,
            )
        )


def all_finite(tensor: torch.Tensor) -> bool:
    """No inf or nan. A finite sum proves it (inf and nan survive addition) at a fraction of
    `isfinite`'s cost; only a sum that overflowed needs the element-by-element look."""
    import torch

    if not tensor.is_floating_point():
        return True
    with torch.no_grad():
        return bool(torch.isfinite(tensor.sum())) or bool(torch.isfinite(tensor).all())


def _in_call(function: Function, error: UsageError) -> UsageError:
    """Name the function in torch's message; without a better hint, show its usage."""
    message = error.message.removeprefix(f"{function.name}(): ")
    hint = error.hint or f"usage: {function.usage()}"
    return UsageError(f"{function.name}: {message}", hint, span=error.span)


def _numel(result: object) -> int:
    """Elements of the tensors a call returned (`max` gives values and indices)."""
    import torch

    outputs = result if isinstance(result, tuple) else (result,)
    return sum(t.numel() for t in outputs if isinstance(t, torch.Tensor))


def _whole(value: object) -> object:
    """A 0-d integer tensor as the int it holds (`n` of `--var n=3` as a size); anything
    else as it is. Its value is then bounded as any size is."""
    dtype = getattr(value, "dtype", None)
    integral = dtype is not None and not (dtype.is_floating_point or dtype.is_complex)
    if integral and getattr(value, "shape", None) == () and str(dtype) != "torch.bool":
        return int(value.item())  # type: ignore[attr-defined]
    return value


def _bounded(index: int | slice, shape: Sequence[int], dim: int) -> int | slice:
    """A slice as the same elements with bounds and step no larger than the dim: torch
    overflows computing the size of `x[::2**63-1]` ("Storage size calculation
    overflowed") where Python takes the first element."""
    if not isinstance(index, slice) or dim >= len(shape):
        return index
    start, stop, step = index.indices(shape[dim])
    if step > 0:
        step = min(step, max(shape[dim], 1))
    return slice(start, stop, step)


def _huge_power(base: object, exponent: object) -> bool:
    """Would int ** int exceed 64 bits? Judged from the sizes, without computing it."""
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0:
        return False
    return abs(base) > 1 and exponent * math.log2(abs(base)) >= 63


def _has_float(values: list[object]) -> bool:
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, float):
            return True
        if isinstance(value, list | tuple):
            stack.extend(value)
    return False


def _resolve(target: str) -> Callable[..., Any]:
    """A whitelist target as the torch object it names: Tensor.sin is torch.Tensor.sin."""
    import torch

    found: Any = torch
    for part in target.split("."):
        found = getattr(found, part)
    return found  # type: ignore[no-any-return]
