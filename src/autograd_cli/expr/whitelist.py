"""The one table of what an expression may call: every function, method and attribute.

Anything not listed here is refused by the parser before a single op runs. To allow a new
function, add one `Function(...)` line: its parameters are checked at parse time, and the
evaluator calls `target` (a dotted path under `torch`) with the arguments as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class DtypeRule(Enum):
    """How a constructor picks its dtype from `--dtype`."""

    FLOAT = "float"  # always the --dtype (ones, randn, ...)
    INFER = "infer"  # --dtype if any argument is a float, else torch infers (tensor, arange)
    LIKE = "like"  # the dtype of the tensor it copies (ones_like, ...)


class Size(Enum):
    """The most elements a call can make, judged from its arguments before it runs."""

    BROADCAST = "broadcast"  # the broadcast of its tensor arguments: elementwise, reductions
    MATMUL = "matmul"  # (..., n, k) @ (..., k, m) -> (..., n, m)
    SHAPE = "shape"  # the shape it is given: ones(2, 3), full((2, 3), v)
    EYE = "eye"  # n * m
    ARANGE = "arange"  # (end - start) / step
    STEPS = "steps"  # linspace's steps
    DATA = "data"  # the numbers written in tensor([...])


@dataclass(frozen=True)
class Function:
    """One callable: bare as `name(...)`, and as `x.name(...)` when torch has the method."""

    name: str
    target: str  # under torch: "Tensor.sin" (also a method), "nn.functional.softplus", "ones"
    group: str  # heading in the documentation
    params: tuple[str, ...] = ("input",)  # positional-or-keyword, in order
    required: int = 1  # how many leading arguments must be given: params, then varargs
    varargs: str | None = None  # extra positional args collect here (a shape: 2, 3)
    kwonly: tuple[str, ...] = ()
    strings: tuple[str, ...] = ()  # params that take a string literal ('sum', 'fro')
    tensors: tuple[str, ...] = ("input",)  # params that must hold a tensor (not for constructors)
    dtype: DtypeRule | None = None  # set for constructors: they make tensors from numbers
    random: bool = False  # draws from the --seed generator
    size: Size = Size.BROADCAST
    #: Cuts the graph on purpose: "detach" (a call), or "no_grad"/"inference_mode" (wrappers:
    #: the argument is evaluated under `torch.no_grad()` / `torch.inference_mode()`).
    cut: str | None = None
    inplace: bool = False  # changes its input's values (and version) in place

    @property
    def wrapper(self) -> bool:
        return self.cut in ("no_grad", "inference_mode")

    @property
    def method(self) -> bool:
        return self.target.startswith("Tensor.")

    @property
    def constructor(self) -> bool:
        return self.dtype is not None

    def usage(self) -> str:
        """The call as the documentation writes it: `sum(input, dim, keepdim)`."""
        parts = list(self.params)
        if self.varargs:
            parts.append(f"*{self.varargs}")
        parts += [f"{k}=" for k in self.kwonly]
        return f"{self.name}({', '.join(parts)})"


def _sized(name: str, random: bool = False) -> Function:
    """A constructor taking a shape, as `ones(2, 3)` or `ones((2, 3))`."""
    return Function(
        name,
        name,
        "constructor",
        (),
        1,
        "size",
        dtype=DtypeRule.FLOAT,
        random=random,
        size=Size.SHAPE,
    )


def _like(name: str, params: tuple[str, ...] = ("input",), random: bool = False) -> Function:
    return Function(
        name, name, "constructor", params, len(params), dtype=DtypeRule.LIKE, random=random
    )


def _loss(name: str, *kwonly: str) -> Function:
    params = ("input", "target")
    tensors = ("input", "target", "weight", "pos_weight")
    target = f"nn.functional.{name}"
    return Function(name, target, "loss", params, 2, None, kwonly, ("reduction",), tensors=tensors)


def _methods(
    group: str, names: str, params: tuple[str, ...] = ("input",), size: Size = Size.BROADCAST
) -> list[Function]:
    """Functions torch also has as Tensor methods, called the same way bare or as x.name()."""
    return [
        Function(n, f"Tensor.{n}", group, params, len(params), size=size) for n in names.split()
    ]


def _constructor(
    name: str, params: tuple[str, ...], required: int, dtype: DtypeRule, size: Size
) -> Function:
    return Function(name, name, "constructor", params, required, dtype=dtype, size=size)


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        _sized("ones"),
        _sized("zeros"),
        _sized("randn", random=True),
        _sized("rand", random=True),
        _constructor("eye", ("n", "m"), 1, DtypeRule.FLOAT, Size.EYE),
        _constructor("arange", ("start", "end", "step"), 1, DtypeRule.INFER, Size.ARANGE),
        _constructor("linspace", ("start", "end", "steps"), 3, DtypeRule.FLOAT, Size.STEPS),
        _constructor("full", ("size", "fill_value"), 2, DtypeRule.INFER, Size.SHAPE),
        _constructor("tensor", ("data",), 1, DtypeRule.INFER, Size.DATA),
        _like("ones_like"),
        _like("zeros_like"),
        _like("randn_like", random=True),
        _like("rand_like", random=True),
        _like("full_like", ("input", "fill_value")),
        *_methods("elementwise", "sin cos tan exp log sqrt abs tanh sigmoid relu"),
        Function(
            "softplus", "nn.functional.softplus", "elementwise", ("input", "beta", "threshold")
        ),
        *_methods("elementwise", "pow", ("input", "exponent")),
        Function("clamp", "Tensor.clamp", "elementwise", ("input", "min", "max")),
        # max/min with a dim give the values, as torch's `.values`
        *(
            Function(n, f"Tensor.{n}", "reduction", ("input", "dim", "keepdim"))
            for n in ("sum", "mean", "prod", "max", "min")
        ),
        Function(
            "norm", "Tensor.norm", "reduction", ("input", "p", "dim", "keepdim"), strings=("p",)
        ),
        Function("reshape", "Tensor.reshape", "shape", required=2, varargs="shape"),
        Function("view", "Tensor.view", "shape", required=2, varargs="shape"),
        *_methods("shape", "t"),
        *_methods("shape", "transpose", ("input", "dim0", "dim1")),
        *_methods("shape", "unsqueeze", ("input", "dim")),
        Function("squeeze", "Tensor.squeeze", "shape", ("input", "dim")),
        *_methods("linear algebra", "matmul mm", ("input", "other"), Size.MATMUL),
        *_methods("linear algebra", "dot", ("input", "other")),
        *_methods("softmax", "softmax log_softmax", ("input", "dim")),
        _loss("binary_cross_entropy_with_logits", "weight", "reduction", "pos_weight"),
        _loss("mse_loss", "reduction"),
        _loss("cross_entropy", "weight", "reduction", "label_smoothing"),
        # What `why` explains: paths cut on purpose, and values changed after being saved.
        Function("detach", "Tensor.detach", "grad mode", cut="detach"),
        Function("no_grad", "no_grad", "grad mode", tensors=(), cut="no_grad"),
        Function("inference_mode", "inference_mode", "grad mode", tensors=(), cut="inference_mode"),
        *(
            Function(n, f"Tensor.{n}", "in place", ("input", "other"), 2, inplace=True)
            for n in ("add_", "mul_")
        ),
        Function("zero_", "Tensor.zero_", "in place", inplace=True),
    )
}

#: Tensor attributes an expression may read.
ATTRIBUTES = {"T": "the transpose (all dims reversed)"}

#: Python operators, by the `ast` class name of the operator.
BINARY = {"Add": "+", "Sub": "-", "Mult": "*", "Div": "/", "Pow": "**", "MatMult": "@"}
UNARY = {"USub": "-", "UAdd": "+"}

METHODS = {name for name, f in FUNCTIONS.items() if f.method}
