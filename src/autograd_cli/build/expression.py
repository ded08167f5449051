"""`--expr` and its `--var NAME=EXPR` definitions -> a `Computation`.

Every text is parsed (and so refused, if it must be) before anything is evaluated. The
variables are evaluated in order into one scope; each random draw comes from one generator
seeded by `--seed` (after the lesson's own draws with `--lesson`, so those match the lesson
network bit for bit).
"""

from __future__ import annotations

import keyword
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autograd_cli.build.computation import Computation
from autograd_cli.build.lesson import LESSON_SOURCE, lesson_generator, lesson_inputs
from autograd_cli.build.sources import SourceMap
from autograd_cli.defaults import DEFAULT_MAX_ELEMENTS
from autograd_cli.errors import CliWarning, UsageError, param
from autograd_cli.expr.evaluate import Evaluator, describe
from autograd_cli.expr.parser import Node, parse, split_named, suggestion
from autograd_cli.expr.whitelist import FUNCTIONS
from autograd_cli.records.source import Source

if TYPE_CHECKING:
    import torch

DTYPES = ("float32", "float64")
RESULT = "result"
LESSON_NAMES = ("x", "y", "w", "b")
#: The most `--var` definitions. With the syntax-tree depth bound of each text, this bounds
#: how deep a graph can be (about 10^4 nodes of plain ops), and so the stack torch needs
#: to free it (`cli.worker`), and the time to evaluate and show every variable.
MAX_VARIABLES = 100


@dataclass(frozen=True)
class Definition:
    """One named expression: `source` as the user typed it, the expression from `start`."""

    name: str
    source: str
    start: int
    tree: Node

    @property
    def code(self) -> str:
        return f"{self.name} = {self.source[self.start :].strip()}"


def parse_definition(raw: str, defined: Collection[str]) -> Definition:
    """`z=x@w` -> a Definition whose expression may use the names `defined` so far."""
    name, start = split_named(raw, "var", "w=randn(5, 3)")
    problem = _bad_name(name, defined)
    if problem:
        raise UsageError(problem, "pick another name", source=raw, span=(0, max(start - 1, 1)))
    return Definition(name, raw, start, parse(raw, defined, start))


def _bad_name(name: str, defined: Collection[str]) -> str | None:
    if not (name.isascii() and name.isidentifier()) or keyword.iskeyword(name):
        return f"{name!r} is not a valid variable name"
    if name.startswith("_"):
        return "variable names may not start with _"
    if name in FUNCTIONS or name in (RESULT, "T"):
        return f"{name!r} is reserved (a function name or the result)"
    if name in defined:
        return f"{name!r} is already defined"
    return None


def torch_dtype(name: str) -> torch.dtype:
    import torch

    if name not in DTYPES:
        raise UsageError(f"unknown dtype {name!r}", "choose float32 or float64")
    dtype: torch.dtype = getattr(torch, name)
    return dtype


def expression_computation(
    expr: str,
    variables: Sequence[str] = (),
    wrt: Sequence[str] = (),
    *,
    lesson: bool = False,
    dtype: str = "float32",
    seed: int = 0,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> Computation:
    """Parse everything (before torch is even imported), then evaluate the variables in
    order and the expression last."""
    if len(variables) > MAX_VARIABLES:
        raise UsageError(
            f"{len(variables):,} {param('var')} definitions; the limit is {MAX_VARIABLES}",
            "compute more in each definition, or split the work into several runs",
        )
    names: list[str] = list(LESSON_NAMES) if lesson else []
    definitions: list[Definition] = []
    for raw in variables:
        definitions.append(parse_definition(raw, names))
        names.append(definitions[-1].name)
    result = Definition(RESULT, expr, 0, parse(expr, names))
    _check_wrt(wrt, names)

    float_dtype = torch_dtype(dtype)
    generator = lesson_generator(seed)
    notes: list[CliWarning] = []
    sources = SourceMap()
    evaluator = Evaluator(
        dtype=float_dtype,
        generator=generator,
        max_elements=max_elements,
        notes=notes,
        sources=sources,
    )
    tensors: dict[str, torch.Tensor] = {}
    if lesson:
        for name, tensor in lesson_inputs(generator, float_dtype).named().items():
            sources.define_leaf(tensor, Source(LESSON_SOURCE[name]))
            tensors[name] = _track(name, tensor, wrt, default=tensor.requires_grad)
    for definition in definitions:
        value = _tensor(_evaluate(evaluator, definition, tensors, notes), definition, float_dtype)
        if any(value is t for t in tensors.values()):  # `v=x`: another name, same tensor
            tensors[definition.name] = value
            continue
        _define(sources, value, definition)
        # A value cut from the graph on purpose (detach, no_grad) is not tracked by default.
        cut = any(c.source.code == definition.source for c in sources.cuts)
        tensors[definition.name] = _track(
            definition.name,
            value,
            wrt,
            default=value.is_floating_point() and not cut,
            written=definition.source[definition.start :],
        )
    output = _tensor(_evaluate(evaluator, result, tensors, notes), result, float_dtype)
    _define(sources, output, result)

    by_name = {d.name: d for d in definitions}

    def rebuild(leaves: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Re-evaluate with `leaves` in place; constructors give their first tensors again."""

        floating = [t.dtype for t in leaves.values() if t.is_floating_point()]
        target = floating[0] if floating else float_dtype
        again = Evaluator(
            dtype=target, generator=generator, max_elements=max_elements, cache=evaluator.cache
        )
        scope: dict[str, torch.Tensor] = {}
        for name, original in tensors.items():
            definition = by_name.get(name)
            if name in leaves:
                scope[name] = leaves[name]
            elif definition is None or original.grad_fn is None:
                scope[name] = original.to(target) if original.is_floating_point() else original
            else:
                scope[name] = _tensor(_evaluate(again, definition, scope), definition, target)
        return _tensor(_evaluate(again, result, scope), result, target)

    source = {n: LESSON_SOURCE[n] for n in LESSON_NAMES if lesson}
    source |= {d.name: d.code for d in definitions}
    source[RESULT] = result.code
    retained = {name for name, tensor in tensors.items() if tensor.grad_fn is not None}
    return Computation(
        output,
        RESULT,
        tensors,
        rebuild,
        source,
        notes,
        sources,
        retained=retained,
        work=evaluator.work,
    )


def _define(sources: SourceMap, value: torch.Tensor, definition: Definition) -> None:
    """A leaf (and its AccumulateGrad, if it comes to require grad) belongs to its whole
    definition, as the user typed it."""
    if value.grad_fn is None and sources.leaf(value) is None:
        sources.define_leaf(value, Source(definition.source))


def evaluate_text(
    text: str,
    scope: Mapping[str, torch.Tensor],
    *,
    dtype: str = "float32",
    seed: int = 0,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> torch.Tensor:
    """One more expression over existing tensors (`--vector ones_like(result)`), untracked."""
    import torch

    definition = Definition("value", text, 0, parse(text, list(scope)))
    evaluator = Evaluator(
        dtype=torch_dtype(dtype), generator=lesson_generator(seed), max_elements=max_elements
    )
    with torch.no_grad():
        value = _evaluate(evaluator, definition, scope)
        return _tensor(value, definition, torch_dtype(dtype)).detach()


def _check_wrt(wrt: Sequence[str], names: Sequence[str]) -> None:
    for name in wrt:
        if name not in names:
            defined = ", ".join(names) or "none"
            raise UsageError(
                f"{param('wrt')} {name}: no variable is called {name!r}",
                suggestion(name, names, f"defined variables: {defined}"),
            )


def _evaluate(
    evaluator: Evaluator,
    definition: Definition,
    scope: Mapping[str, object],
    notes: list[CliWarning] | None = None,
) -> object:
    """Evaluate, pointing any error or warning at the text the user typed."""
    before = len(notes) if notes is not None else 0
    try:
        value = evaluator.evaluate_code(definition.source, definition.tree, scope)
    except UsageError as error:
        raise error.located(definition.source) from None
    for note in (notes or [])[before:]:
        note.located(definition.source)
    return value


def _tensor(value: object, definition: Definition, dtype: torch.dtype) -> torch.Tensor:
    """A number becomes a 0-d tensor (a float one in --dtype); anything else is refused."""
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, bool | int | float):
        return torch.tensor(value, dtype=dtype if isinstance(value, float) else None)
    raise UsageError(
        f"{definition.name} is {describe(value)}, not a tensor or a number",
        "make a tensor from data with tensor([...])",
        source=definition.source,
        span=(definition.start, len(definition.source)),
    )


def _track(
    name: str, tensor: torch.Tensor, wrt: Sequence[str], *, default: bool, written: str = ""
) -> torch.Tensor:
    """Make a leaf require grad (picked by --wrt, else `default`); let intermediates keep .grad."""
    if tensor.grad_fn is not None:
        if name in wrt:
            raise UsageError(
                f"{param('wrt')} {name}: {name} is computed from other variables, "
                "so it is not a leaf",
                f"its gradient is shown anyway; pick the leaves {name} is computed from",
            )
        tensor.retain_grad()
        return tensor
    wanted = name in wrt if wrt else default
    if wanted and not tensor.is_floating_point():
        dtype = str(tensor.dtype).removeprefix("torch.")
        raise UsageError(
            f"{param('wrt')} {name}: {name} is an integer tensor ({dtype}); "
            "only floating-point tensors can require grad",
            as_float(name, written),
        )
    if wanted and tensor.is_inference():
        raise UsageError(
            f"{param('wrt')} {name}: {name} was made under inference_mode, so it is an inference "
            "tensor: it can never require grad",
            f"build {name} without inference_mode (a tensor made under no_grad can still "
            "require grad)",
        )
    return tensor.requires_grad_(wanted)


def as_float(name: str, written: str) -> str:
    """How to make `name` a float tensor: `x=-4.0` for a whole number, else a float literal."""
    number = written.strip()
    if number.lstrip("+-").isdigit():
        return f"write {name}={number}.0: a float tensor can require grad"
    return "write its numbers as floats, e.g. tensor([1., 2.])"
