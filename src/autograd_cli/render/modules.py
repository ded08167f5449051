"""The module view's rows, and the model's JSON document: no Rich here, so `--json` stays
light (`render.module_view` draws the rows for the terminal).

Rows are the modules in preorder down to a depth, each with the totals of everything
below it. Runs of sibling modules named `0, 1, 2, ...` and built alike (equal
`ModuleRecord.signature`) fold into one row, `layers.0-11  TransformerEncoderLayer x12`,
whose figures are the run's sums (the gradient norm: the norm over all of them). One
module can be expanded: it is taken out of its run and its backward nodes are listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograd_cli.errors import UsageError
from autograd_cli.records.graph import GraphRecord, NodeRecord
from autograd_cli.records.modules import (
    ModelRecord,
    ModuleRecord,
    ModuleStats,
)


@dataclass(frozen=True)
class ModuleRow:
    """One line of the module view: a module, or a folded run of `count` alike modules."""

    depth: int
    path: str  # `encoder.layers.0-11` for a run
    name: str  # what the view prints, relative to the row above it: `layers.0-11`, `norm1`
    cls: str
    count: int  # 1, or the modules folded into this row
    calls: int
    nodes: int
    parameters: int
    saved_bytes: int
    grad_norm: float | None
    first: int  # ModuleRecord.index of the (first) module
    expanded: bool = False


def _row(
    stats: list[ModuleStats], expanded: bool = False, container: ModuleRecord | None = None
) -> ModuleRow:
    """The row of one module, or of a run; `container`: the list the run stands for."""
    first, last = stats[0].module, stats[-1].module
    path = first.path
    name = first.name if first.path else "(root)"
    if len(stats) > 1:
        path = f"{first.path}-{last.name}"
        name = f"{first.name}-{last.name}"
    if container is not None:
        name = f"{container.name}.{name}"
    norms = [s.grad_norm for s in stats if s.grad_norm is not None]
    return ModuleRow(
        depth=first.depth if container is None else container.depth,
        path=path,
        name=name,
        cls=first.cls,
        count=len(stats),
        calls=sum(s.calls for s in stats),
        nodes=sum(s.nodes for s in stats),
        parameters=sum(s.parameters for s in stats),
        saved_bytes=sum(s.saved_bytes for s in stats),
        grad_norm=sum(n * n for n in norms) ** 0.5 if norms else None,
        first=first.index,
        expanded=expanded,
    )


def _runs(children: list[ModuleRecord], keep: set[int]) -> list[list[ModuleRecord]]:
    """Consecutive siblings named by consecutive integers and built alike, as runs (a run
    of one is a plain module). Modules in `keep` stand alone."""
    runs: list[list[ModuleRecord]] = []
    for child in children:
        last = runs[-1] if runs else None
        if (
            last is not None
            and child.index not in keep
            and last[-1].index not in keep
            and child.name.isdigit()
            and last[-1].name.isdigit()
            and int(child.name) == int(last[-1].name) + 1
            and child.signature == last[-1].signature
        ):
            last.append(child)
        else:
            runs.append([child])
    return runs


def find_module(model: ModelRecord, path: str) -> ModuleRecord:
    """The module at `path` (`""` or the class name for a root), or a UsageError that lists
    a few of the paths there are."""
    for module in model.modules:
        if module.path == path or (module.parent is None and path in ("", module.cls)):
            return module
    known = [m.path for m in model.modules if m.path][:6]
    raise UsageError(
        f"no module {path!r} in the model",
        "modules are named as named_modules() names them, e.g. " + ", ".join(known),
    )


def module_rows(
    model: ModelRecord, depth: int | None = None, expand: ModuleRecord | None = None
) -> list[ModuleRow]:
    """The view's rows in preorder, down to `depth` (0: the top-level modules only)."""
    keep: set[int] = set()
    if expand is not None:  # the expanded module and its ancestors stay out of runs
        index: int | None = expand.index
        while index is not None:
            keep.add(index)
            index = model.modules[index].parent
    children: dict[int | None, list[ModuleRecord]] = {}
    for module in model.modules:
        children.setdefault(module.parent, []).append(module)
    rows: list[ModuleRow] = []
    stack: list[tuple[list[ModuleRecord], ModuleRecord | None]] = [
        (run, None) for run in reversed(_runs(children.get(None, []), keep))
    ]
    while stack:
        run, container = stack.pop()
        module = run[0]
        inner = _runs(children.get(module.index, []), keep) if len(run) == 1 else []
        if _is_list(model, module, inner) and module.index not in keep:
            # `layers` holding only `0` to `11`, alike: one row, `layers.0-11 ... x12`
            stack.append((inner[0], module))
            continue
        rows.append(_row([model.stats[m.index] for m in run], expand in run, container))
        if inner and (depth is None or module.depth < depth or module.index in keep):
            stack.extend((r, None) for r in reversed(inner))
    return rows


def _is_list(model: ModelRecord, module: ModuleRecord, inner: list[list[ModuleRecord]]) -> bool:
    """A container (ModuleList, Sequential) whose children are one run of alike blocks, and
    that makes no node and holds no parameter of its own."""
    if len(inner) != 1 or len(inner[0]) < 2:
        return False
    stats = model.stats
    run = inner[0]
    return (
        sum(stats[m.index].nodes for m in run) == stats[module.index].nodes
        and sum(stats[m.index].parameters for m in run) == stats[module.index].parameters
    )


def below(model: ModelRecord, module: ModuleRecord) -> set[int]:
    """Indices of `module` and every module under it."""
    found = {module.index}
    for other in model.modules[module.index + 1 :]:  # preorder: its subtree follows it
        if other.parent not in found:
            break
        found.add(other.index)
    return found


def expanded_nodes(
    graph: GraphRecord | None, model: ModelRecord, module: ModuleRecord
) -> list[NodeRecord]:
    """The backward nodes made by `module` or its submodules, in graph order."""
    if graph is None:
        return []
    inside = below(model, module)
    return [n for n in graph.nodes if n.module is not None and n.module.index in inside]
