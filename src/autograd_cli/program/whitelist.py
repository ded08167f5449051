"""Everything a program may name: modules, functions, methods and attributes, per type.

A program is real PyTorch code, so names are torch's own (`torch.randn`, `F.relu`,
`x.backward`). Anything not listed here is refused: by the checker before the program runs
where the name alone decides (`torch.load`, `x.__class__`, `import os`), and by the
interpreter where the value's type decides (`.grad` of a number). Attributes are allowed
per type and never by exclusion: that is how the escapes of ast evaluators happened.

Pure Python: the torch objects are looked up (`getattr` on torch, with names from this
table only) when a program runs. To allow another torch function, add its name to the
table of its namespace with its size rule.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum

from autograd_cli.errors import param
from autograd_cli.expr.whitelist import FUNCTIONS, Function


class Grow(Enum):
    """How many elements an op can make, judged from its arguments before it runs."""

    TABLE = "table"  # by the --expr whitelist's own rule for the same function
    BROADCAST = "broadcast"  # the broadcast of the tensor arguments (add, where, ...)
    INPUT = "input"  # no more than its input has: views, reductions, copies, casts
    CAT = "cat"  # the sum of a list of tensors (cat, stack)
    OUTER = "outer"  # n * m
    REPEAT = "repeat"  # input * the repeats (repeat, expand)
    LINEAR = "linear"  # input rows * weight rows
    SCALAR = "scalar"  # a 0-d result or a Python value (item, allclose, manual_seed)


@dataclass(frozen=True)
class Op:
    """A torch callable a program may call, by the name it has there."""

    name: str
    target: str  # the attribute path under torch: "randn", "Tensor.sum", "nn.functional.relu"
    grow: Grow
    function: Function | None = None  # the --expr entry: parameters and size rule
    random: bool = False  # draws from torch's global generator (seeded by --seed)
    inplace: bool = False  # changes its receiver's values and version


def _table(name: str, target: str | None = None) -> Op:
    function = FUNCTIONS[name]
    return Op(
        name,
        target or function.target,
        Grow.TABLE,
        function,
        random=function.random,
        inplace=function.inplace,
    )


def _ops(grow: Grow, names: str, prefix: str = "", *, inplace: bool = False) -> list[Op]:
    return [Op(n, prefix + n, grow, inplace=inplace) for n in names.split()]


#: Functions both torch.X and x.X(...) give; the --expr whitelist's names and size rules.
_SHARED = (
    "sin cos tan exp log sqrt abs tanh sigmoid relu pow clamp sum mean prod max min norm "
    "reshape t transpose unsqueeze squeeze matmul mm dot softmax log_softmax detach zero_"
)

TORCH: dict[str, Op] = {
    op.name: op
    for op in (
        *(
            _table(n)
            for n in [
                "ones",
                "zeros",
                "randn",
                "rand",
                "eye",
                "arange",
                "linspace",
                "full",
                "tensor",
                "ones_like",
                "zeros_like",
                "randn_like",
                "rand_like",
                "full_like",
            ]
        ),
        *(_table(n, f"{n}") for n in _SHARED.split()),
        *_ops(Grow.BROADCAST, "add sub mul div neg square maximum minimum where isclose exp2"),
        *_ops(Grow.BROADCAST, "log1p expm1 sign floor ceil round atan asin acos sinh cosh"),
        *_ops(Grow.INPUT, "flatten cumsum argmax argmin logsumexp var std permute nansum"),
        *_ops(Grow.CAT, "cat stack"),
        *_ops(Grow.OUTER, "outer"),
        *_ops(Grow.SCALAR, "allclose equal manual_seed is_grad_enabled numel"),
        *_ops(Grow.SCALAR, "is_inference_mode_enabled is_tensor is_floating_point"),
    )
}

#: `torch.nn.functional` (as `F.X` or `torch.nn.functional.X`).
FUNCTIONAL: dict[str, Op] = {
    op.name: op
    for op in (
        _table("softplus"),
        _table("binary_cross_entropy_with_logits"),
        _table("mse_loss"),
        _table("cross_entropy"),
        *_ops(Grow.BROADCAST, "relu sigmoid tanh gelu silu elu leaky_relu", "nn.functional."),
        *_ops(Grow.INPUT, "softmax log_softmax normalize", "nn.functional."),
        *_ops(Grow.SCALAR, "l1_loss binary_cross_entropy nll_loss", "nn.functional."),
        *_ops(Grow.LINEAR, "linear", "nn.functional."),
    )
}

#: `torch.autograd`.
AUTOGRAD: dict[str, Op] = {op.name: op for op in _ops(Grow.SCALAR, "grad backward", "autograd.")}

#: Methods of a tensor: `x.name(...)`.
METHODS: dict[str, Op] = {
    op.name: op
    for op in (
        *(_table(n, f"Tensor.{n}") for n in [*_SHARED.split(), "view", "add_", "mul_"]),
        *_ops(Grow.BROADCAST, "add sub mul div neg square maximum minimum exp2", "Tensor."),
        *_ops(Grow.BROADCAST, "log1p expm1 sign floor ceil round atan sinh cosh", "Tensor."),
        *_ops(
            Grow.BROADCAST,
            "sub_ div_ neg_ pow_ exp_ clamp_ relu_ sigmoid_ tanh_",
            "Tensor.",
            inplace=True,
        ),
        *_ops(Grow.BROADCAST, "fill_ copy_ abs_ sqrt_ square_ t_", "Tensor.", inplace=True),
        *_ops(
            Grow.INPUT,
            "clone double float half long int bool flatten contiguous cpu cumsum argmax argmin "
            "logsumexp var std reshape_as view_as expand_as requires_grad_ retain_grad tolist "
            "permute nansum",
            "Tensor.",
        ),
        *_ops(Grow.REPEAT, "repeat expand", "Tensor."),
        *_ops(Grow.SCALAR, "backward item size dim numel is_floating_point", "Tensor."),
        *_ops(Grow.SCALAR, "allclose equal is_contiguous is_inference", "Tensor."),
    )
}

#: Tensor attributes a program may read; the ones it may also assign say how.
TENSOR_ATTRIBUTES = {
    "grad": "the gradient backward accumulated (None until then)",
    "grad_fn": "the node that made this tensor (None for a leaf)",
    "requires_grad": "whether autograd records operations on it",
    "is_leaf": "made by the user, not by an op autograd recorded",
    "retains_grad": "whether a non-leaf keeps .grad (retain_grad())",
    "shape": "its size",
    "dtype": "its element type",
    "ndim": "its number of dims",
    "T": "the transpose (all dims reversed)",
    "mT": "the transpose of the last two dims",
    "device": "where it lives",
}
#: What a program may assign: `x.grad = None`, `x.requires_grad = True`.
TENSOR_SETTABLE = ("grad", "requires_grad")

#: The fields of what `x.max(dim)`, `x.min(dim)` and the like return (torch.return_types).
RESULT_FIELDS = ("values", "indices")

#: Where a program stops and your own Python starts: the hint of what a program cannot do.
TRUST_HINT = f"run your own file as Python with {param('trust')} (it then runs with no bounds)"

#: A grad_fn node: `y.grad_fn.name()`, `.next_functions`, AccumulateGrad's `.variable`.
NODE_ATTRIBUTES = ("next_functions", "variable", "metadata")
NODE_METHODS = ("name",)

#: Refused attributes with the reason (everything else unlisted is refused plainly).
REFUSED_ATTRIBUTES = {
    "data": (
        "`.data` bypasses autograd: changes through it are invisible to the graph and "
        "torch cannot check them",
        "use .detach() for a value without history, or change it under `with torch.no_grad():`",
    ),
    "register_hook": (
        "`.register_hook()` calls a function of yours with the gradient, and a program "
        "defines no function (`def`, `lambda`)",
        TRUST_HINT,
    ),
}

#: dtypes, as torch names them.
DTYPES = [
    "float32",
    "float64",
    "float",
    "double",
    "float16",
    "half",
    "bfloat16",
    "int64",
    "long",
    "int32",
    "int",
    "int16",
    "int8",
    "uint8",
    "bool",
]

#: Context managers of `with`: grad modes only.
MODES = ("no_grad", "enable_grad", "inference_mode", "set_grad_enabled")

#: The importable modules, and the namespace each member path leads to.
NAMESPACES = {
    "torch": TORCH,
    "torch.nn.functional": FUNCTIONAL,
    "torch.autograd": AUTOGRAD,
}
#: Submodules: `torch.nn`, `torch.nn.functional`, `torch.autograd`.
SUBMODULES = {
    "torch": ("nn", "autograd", "optim"),
    "torch.nn": ("functional",),
}

# --- models: torch.nn layers and torch.optim optimizers (run by program/models.py) ---

#: `nn.X(...)`: the layers, containers and losses a program may build.
LAYERS = [
    "Linear",
    "Conv1d",
    "Conv2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "Embedding",
    "Dropout",
    "ReLU",
    "GELU",
    "Tanh",
    "Sigmoid",
    "Softmax",
    "Flatten",
    "Sequential",
    "ModuleList",
    "MultiheadAttention",
    "TransformerEncoderLayer",
    "TransformerEncoder",
    "LSTM",
    "GRU",
    "MSELoss",
    "CrossEntropyLoss",
    "BCEWithLogitsLoss",
]
#: `torch.optim.X(params, ...)`.
OPTIMIZERS = ("SGD", "Adam")
#: `model.X(...)` on any module.
MODULE_METHODS = (
    "parameters",
    "named_parameters",
    "zero_grad",
    "requires_grad_",
    "train",
    "eval",
)
#: `optimizer.X(...)`.
OPTIMIZER_METHODS = ("step", "zero_grad")
#: What a module holds by name (`model.weight`, `encoder.layers`): allowed at run time only
#: where the module registered that name as a parameter, buffer or submodule. The checker
#: knows these names ahead: those the layers above register, and `training`.
MODULE_ATTRIBUTES = [
    "weight",
    "bias",
    "in_proj_weight",
    "in_proj_bias",
    "out_proj",
    "self_attn",
    "linear1",
    "linear2",
    "norm",
    "norm1",
    "norm2",
    "dropout",
    "dropout1",
    "dropout2",
    "layers",
    "running_mean",
    "running_var",
    "num_batches_tracked",
    "training",
] + [
    f"{kind}_{gate}_l{layer}{suffix}"
    for kind in ("weight", "bias")
    for gate in ("ih", "hh")
    for layer in range(8)
    for suffix in ("", "_reverse")
]
#: `torch.Tensor([...])`, the legacy constructor the micrograd tests use, takes data only.
LEGACY_TENSOR = "Tensor"

#: Python builtins a program may call.
BUILTINS = [
    "print",
    "range",
    "len",
    "str",
    "float",
    "int",
    "bool",
    "abs",
    "round",
    "min",
    "max",
    "enumerate",
    "zip",
    "list",
    "tuple",
    "sum",
]


@functools.cache  # the checker asks for each attribute of a program: made once a path
def members(path: str) -> frozenset[str]:
    """Every name a namespace path offers, for `did you mean` and the checker."""
    names = list(NAMESPACES.get(path, {}))
    names += SUBMODULES.get(path, ())
    if path == "torch":
        names += [*DTYPES, *MODES, LEGACY_TENSOR]
    elif path == "torch.nn":
        names += LAYERS
    elif path == "torch.optim":
        names += OPTIMIZERS
    return frozenset(names)


@functools.cache
def attribute_names() -> frozenset[str]:
    """Every attribute name any value may have: what the checker lets through by name."""
    return frozenset(
        set(METHODS)
        | set(TENSOR_ATTRIBUTES)
        | set(NODE_ATTRIBUTES)
        | set(NODE_METHODS)
        | {name for path in ("torch", "torch.nn", "torch.nn.functional") for name in members(path)}
        | set(MODULE_METHODS)
        | set(OPTIMIZER_METHODS)
        | set(MODULE_ATTRIBUTES)
        | set(RESULT_FIELDS)
    )
