"""Models in programs: building `torch.nn` layers and `torch.optim` optimizers, calling a
module, and the module and optimizer methods a training loop uses.

The names are the whitelist's (`LAYERS`, `OPTIMIZERS`, `MODULE_METHODS`, ...); this module
runs them for the interpreter, bounded like every op:

- building a layer costs the elements of its parameters and buffers, counted first on the
  meta device (which allocates nothing and draws no random numbers, so the real build
  that follows initialises exactly as `python FILE` would after the same seed);
- calling a module is bounded inside it: a global forward pre-hook checks, before each
  submodule runs, the most elements its output can have (`output_bound`), so a layer
  too large for `--max-elements` is refused before it allocates;
- a module's attributes are only what it registered by name (parameters, buffers,
  submodules) and `training`: never Python attributes at large.
"""

from __future__ import annotations

import ast
import math
from typing import TYPE_CHECKING, Any

from autograd_cli.program import whitelist as wl

if TYPE_CHECKING:
    import torch

    from autograd_cli.program.interpreter import Interpreter


def is_module(value: Any) -> bool:
    import torch

    return isinstance(value, torch.nn.Module)


def is_optimizer(value: Any) -> bool:
    import torch

    return isinstance(value, torch.optim.Optimizer)


def construct(
    interpreter: Interpreter, node: ast.Call, path: str, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    """`nn.Linear(8, 16)`, `torch.optim.SGD(model.parameters(), lr=0.1)`: bounded, then built."""
    import torch

    namespace, _, name = path.rpartition(".")
    if namespace == "torch.optim":
        target = getattr(torch.optim, name)
        params = [p for p in _flat(args[0] if args else kwargs.get("params", [])) if _tensor(p)]
        # optimizer state: Adam keeps two tensors per parameter, SGD with momentum one
        for param in params:
            interpreter.count(node, param.numel() * (2 if name == "Adam" else 1))
        return interpreter.run_torch(node, target, tuple(args), kwargs)
    target = getattr(torch.nn, name)
    for size in _new_elements(interpreter, node, target, name, args, kwargs):
        interpreter.count(node, size)
    return interpreter.run_torch(node, target, tuple(args), kwargs)


def _new_elements(
    interpreter: Interpreter,
    node: ast.Call,
    target: Any,
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
) -> list[int]:
    """The elements of each parameter and buffer the new module will allocate."""
    import torch

    if any(is_module(a) for a in [*args, *kwargs.values()]) or any(
        isinstance(a, list | tuple) and any(is_module(m) for m in a) for a in args
    ):
        if name != "TransformerEncoder":
            return []  # Sequential, ModuleList: they hold the modules given, nothing new
        layer = args[0] if args else kwargs.get("encoder_layer")
        copies = args[1] if len(args) > 1 else kwargs.get("num_layers", 0)
        if layer is None or not is_module(layer) or not isinstance(copies, int):
            return []  # torch refuses it when it runs, in its own words
        sizes = [t.numel() for t in [*layer.parameters(), *layer.buffers()]]
        return sizes * max(copies, 0)
    with torch.device("meta"):
        try:
            dry = target(*args, **kwargs)
        except (TypeError, ValueError, RuntimeError, AssertionError):
            return []  # the real build fails the same way, and says why
    return [t.numel() for t in [*dry.parameters(), *dry.buffers()]]


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        found = []
        for item in value:
            found += _flat(item["params"]) if isinstance(item, dict) else [item]
        return found
    return [value]


def _tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def member(interpreter: Interpreter, obj: Any, attr: str, node: ast.expr | None) -> Any:
    """`model.parameters`, `model.weight`, `optimizer.step`: by the object's kind."""
    from autograd_cli.program.interpreter import Callee

    if is_module(obj):
        if attr in wl.MODULE_METHODS:
            return Callee("model_method", attr, None, obj)
        if attr == "training":
            return obj.training
        registered = (obj._parameters, obj._buffers, obj._modules)
        if any(attr in found for found in registered):
            return getattr(obj, attr)
    elif is_optimizer(obj) and attr in wl.OPTIMIZER_METHODS:
        return Callee("model_method", attr, None, obj)
    raise interpreter.refuse(
        node,
        f"{interpreter.describe(obj)} has no attribute '{attr}' a program may use",
        _MEMBER_HINT,
    )


_MEMBER_HINT = (
    "a module offers parameters(), named_parameters(), zero_grad(), requires_grad_(), "
    "train(), eval() and what it registered (model.weight, model.layers); an optimizer "
    "step() and zero_grad()"
)


def method(
    interpreter: Interpreter,
    node: ast.Call,
    receiver: Any,
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
) -> Any:
    """A module's or an optimizer's method; generators come back as lists."""
    if is_optimizer(receiver) and name == "step" and (args or kwargs):
        raise interpreter.refuse(
            node, "step() takes no closure here", "compute the loss, backward(), then step()"
        )
    result = interpreter.run_torch(node, getattr(receiver, name), tuple(args), kwargs)
    if name in ("parameters", "named_parameters"):
        return list(result)
    return result


def call_module(
    interpreter: Interpreter, node: ast.Call, module: Any, args: list[Any], kwargs: dict[str, Any]
) -> Any:
    """`model(x)`: the forward pass, each submodule bounded before it runs."""
    from torch.nn.modules.module import register_module_forward_pre_hook

    def check(inner: Any, inputs: tuple[Any, ...]) -> None:
        interpreter.count(node, output_bound(inner, inputs))

    handle = register_module_forward_pre_hook(check)
    try:
        return interpreter.run_torch(node, module, tuple(args), kwargs)
    finally:
        handle.remove()


def output_bound(module: Any, inputs: tuple[Any, ...]) -> int:
    """The most elements `module(*inputs)` can make in one tensor, from shapes alone."""
    tensors = [t for t in _flat(list(inputs)) if _tensor(t)]
    if not tensors:
        return 0
    first: torch.Tensor = tensors[0]
    largest = max(int(t.numel()) for t in tensors)
    kind = type(module).__name__
    shape = tuple(first.shape)
    if kind == "Linear" and shape:
        return int(math.prod(shape[:-1]) * int(module.out_features))
    if kind in ("Conv1d", "Conv2d") and len(shape) >= 2:
        spatial = shape[-(len(module.kernel_size)) :]
        padded = math.prod(s + 2 * p for s, p in zip(spatial, _pairs(module.padding), strict=False))
        batch = math.prod(shape[: -(len(spatial) + 1)]) or 1
        return batch * int(module.out_channels) * padded
    if kind == "Embedding":
        return first.numel() * int(module.embedding_dim)
    if kind == "MultiheadAttention" and len(tensors) >= 2 and first.dim() == 3:
        key = tensors[1]
        batch_dim = 0 if module.batch_first else 1
        seq_dim = 1 - batch_dim
        weights = (
            first.shape[batch_dim] * module.num_heads * first.shape[seq_dim] * key.shape[seq_dim]
        )
        return int(max(weights, 3 * largest))
    if kind in ("LSTM", "GRU") and shape:
        steps = first.numel() // max(int(module.input_size), 1)
        gates = 4 if kind == "LSTM" else 3
        directions = 2 if module.bidirectional else 1
        return int(steps * int(module.hidden_size) * gates * directions)
    return largest


def _pairs(padding: Any) -> tuple[int, ...]:
    if isinstance(padding, str):  # "same" or "valid": no more than the kernel adds
        return (0, 0, 0)
    return tuple(padding) if isinstance(padding, tuple | list) else (int(padding),) * 3


def children(value: Any) -> list[Any] | None:
    """The modules of a Sequential or ModuleList (`for layer in model.layers:`), else None."""
    import torch

    if isinstance(value, torch.nn.Sequential | torch.nn.ModuleList):
        return list(value)
    return None
