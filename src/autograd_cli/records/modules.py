"""Records of a model: its modules, their parameters, and what each holds for backward.

Plain Python, like every record: `inspection.modules` fills them from the hooks it ran,
`render.modules` reads them without torch. The records a view makes by the hundred
(a parameter's, a module's figures) are slotted and not frozen: a frozen dataclass sets
each field through `object.__setattr__`, which made a parameter's record cost 4x.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True, eq=False)
class ModuleRecord:
    """One `nn.Module` of a model, as `named_modules()` lists it from its root.

    `path` is the qualified name below the root (`""` for the root itself, `0`,
    `encoder.layers.3.linear1`); `root` numbers the top-level modules the code called, so
    two models (or a model and its loss module) keep apart. `signature` is equal for
    modules built alike (class, parameter shapes, submodules): what lets a view fold
    `layers.0` to `layers.11` into one row.
    """

    index: int  # position in `ModelRecord.modules`: preorder, root by root
    root: int
    path: str
    cls: str
    parent: int | None
    depth: int  # 0 for a root
    signature: str

    @property
    def name(self) -> str:
        """The last part of the path (`linear1`), or the class for a root."""
        return self.path.rsplit(".", 1)[-1] if self.path else self.cls

    @property
    def label(self) -> str:
        """`encoder.layers.3.linear1 (Linear)`, or `(Sequential)` for a root."""
        return f"{self.path} ({self.cls})" if self.path else f"({self.cls})"


@dataclass(slots=True)
class UpdateRecord:
    """What the last optimizer step did to one parameter: |w_after - w_before| / |w_before|."""

    steps: int  # optimizer steps that updated it while recording
    update_norm: float
    weight_norm: float  # before the last step

    @property
    def ratio(self) -> float | None:
        return self.update_norm / self.weight_norm if self.weight_norm > 0 else None


@dataclass(slots=True)
class ParameterRecord:
    """One parameter: its qualified name (`0.weight`), owner module, and gradient health.

    The gradient figures are None when there is no `.grad`; `missing` says why: `frozen`
    (requires_grad is False), `unused` (the backward that ran never reached it) or
    `no_backward` (no backward reached any parameter), or `meta` (a meta tensor has no
    values to measure).
    """

    name: str
    module: int  # ModuleRecord.index of its owner
    shape: tuple[int, ...]
    dtype: str
    numel: int
    requires_grad: bool
    weight_norm: float | None = None
    grad_norm: float | None = None
    grad_max: float | None = None  # max |g|
    zero_share: float | None = None  # exact zeros / numel
    dead_rows: int | None = None  # rows (dim 0) whose gradient is all zero; None below 2-d
    rows: int | None = None
    nan: bool = False
    inf: bool = False
    missing: str | None = None
    update: UpdateRecord | None = None
    #: Its health flags (`flags()`), once judged by some `Thresholds` (`judged()`).
    flags: tuple[str, ...] = ()

    @property
    def ratio(self) -> float | None:
        """Gradient norm over weight norm: how big a step of size lr would be, relatively."""
        if self.grad_norm is None or not self.weight_norm:
            return None
        return self.grad_norm / self.weight_norm


@dataclass(frozen=True)
class Thresholds:
    """When a parameter's gradient is flagged. The defaults, and why, are in docs/models.md."""

    vanishing: float = 1e-7  # gradient norm at or below: no signal reaches it
    exploding: float = 1e3  # gradient norm above: one step would wreck the weights
    dead: float = 0.1  # share of dead rows (units whose gradient is all zero) at or above


def flags(param: ParameterRecord, limits: Thresholds) -> list[str]:
    """The health flags of one parameter, in a fixed order: `no_grad`, `nan`, `inf`,
    `vanishing`, `exploding`, `dead_units`."""
    if param.grad_norm is None:
        return ["no_grad"] if param.missing != "meta" else []
    found = [name for name, on in (("nan", param.nan), ("inf", param.inf)) if on]
    if not found:
        if param.grad_norm <= limits.vanishing:
            found.append("vanishing")
        elif param.grad_norm > limits.exploding:
            found.append("exploding")
    if param.dead_rows and param.rows and param.dead_rows / param.rows >= limits.dead:
        found.append("dead_units")
    return found


def judged(parameters: list[ParameterRecord], limits: Thresholds) -> list[ParameterRecord]:
    """The parameters, each with its `flags` under `limits`."""
    return [replace(p, flags=tuple(flags(p, limits))) for p in parameters]


@dataclass(slots=True)
class ModuleStats:
    """One module with everything below it: what the module view shows on its row."""

    module: ModuleRecord
    calls: int  # forward calls while recording (0: built but never called)
    nodes: int  # backward nodes created by it or its submodules
    parameters: int  # elements of its parameters and its submodules'
    saved_bytes: int  # storages first saved by its nodes (each storage counted once overall)
    grad_norm: float | None  # over every parameter's .grad below it; None: none has one


@dataclass(slots=True)
class OpSaved:
    """One op name over the whole graph: its nodes and the storages they saved first."""

    name: str
    count: int
    saved_bytes: int


@dataclass
class ModelRecord:
    """A recorded model run: modules in preorder, their parameters, and the graph's totals.

    `outside` counts the nodes made by code outside every module (the loss's arithmetic, a
    functional call in the training loop), so that nodes of the modules plus `outside`
    make the whole graph; the same holds for saved bytes.
    """

    modules: list[ModuleRecord]
    stats: list[ModuleStats]  # one per module, same order
    parameters: list[ParameterRecord]  # in module order, as named_parameters() gives them
    device: str
    nodes: int  # in the graph
    outside: int
    outside_saved: int
    saved_bytes: int  # the whole graph's, each storage once: the peak they add up to
    ops: list[OpSaved] = field(default_factory=list)
    optimizer_steps: int = 0
    freed: bool = False  # backward() already freed saved tensors: the bytes miss them
    at_backward: bool = False  # the bytes were counted as backward() began (it then freed them)
    thresholds: Thresholds | None = None  # what the parameters' `flags` were judged by

    def children(self, index: int | None) -> list[ModuleRecord]:
        """The submodules of `index` in order (the roots for None)."""
        return [m for m in self.modules if m.parent == index]
