"""Why a variable's `.grad` is what it is, in plain words, and the code to blame.

The questions, in order: is it the result? would backward fail because a saved tensor was
changed in place? does it require grad at all (an integer tensor cannot; a cut made it a
constant)? does the result's graph reach it (if not, was its path cut on purpose)? is it
a leaf (backward fills `.grad`) or an intermediate (only with `retain_grad()`)?

The in-place question is answered before backward runs: torch checks a saved tensor's
version when backward unpacks it, and reading the node's `_saved_<name>` attribute does
the same check and raises the same error, so every node can be asked in advance. The
source map then tells which in-place operation moved the version on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autograd_cli.build.sources import InPlaceChange, PathCut, SourceMap, version_of
from autograd_cli.errors import UsageError, backward_error, param
from autograd_cli.expr.parser import suggestion
from autograd_cli.inspection.flow import grad_record
from autograd_cli.inspection.grads import backward_vector
from autograd_cli.inspection.graph import short_name, traced
from autograd_cli.inspection.saved import saved_attributes, stale_of
from autograd_cli.records.grads import GradRecord
from autograd_cli.records.source import Source
from autograd_cli.records.why import Reason, WhyRecord
from autograd_cli.walk import nodes

if TYPE_CHECKING:
    import torch

    from autograd_cli.build.computation import Computation
    from autograd_cli.records.modules import ModuleRecord

INPLACE_ERROR = (
    "one of the variables needed for gradient computation has been modified by an inplace operation"
)
_CUT_WORDS = {
    "detach": (Reason.DETACH, "detach()"),
    "no_grad": (Reason.NO_GRAD, "no_grad"),
    "inference_mode": (Reason.INFERENCE_MODE, "inference_mode"),
}


@dataclass(frozen=True)
class StaleSaved:
    """A tensor a node saved for backward, changed in place since: backward would fail."""

    node: int
    saved: str  # the attribute without `_saved_`: self, other, result, ...
    now: int  # the tensor's version now
    expected: int  # its version when it was saved
    shape: tuple[int, ...] | None


def stale_saved(order: Sequence[Any]) -> list[StaleSaved]:
    """Every saved tensor whose version moved on, in walk order."""
    found = []
    for node_id, node in enumerate(order):
        for name, attribute in saved_attributes(node):
            try:
                getattr(node, attribute)
            except RuntimeError as error:
                stale = stale_of(error)
                if stale is None:
                    continue  # freed by an earlier backward: not our question
                versions, shape = stale
                found.append(
                    StaleSaved(node_id, name, versions.version, versions.saved_version, shape)
                )
    return found


def reachable(start: Any) -> set[Any]:
    """Every node backward would visit from `start`."""
    return set(nodes(start))


def explain(
    computation: Computation,
    names: Sequence[str] | None = None,
    gradient: torch.Tensor | None = None,
) -> list[WhyRecord]:
    """One record per name (default: every name `why NAME` accepts, the result last), after
    running backward once.

    Backward is the real `result.backward(gradient)` (`gradient` None for a scalar), unless
    a saved tensor was changed in place: then it would fail, and that is the answer.
    """
    from autograd_cli.inspection.why_models import find_parameter, parameter_names

    wanted = list(computation.named) if names is None else list(names)
    run = computation.program
    parameters = {}
    for name in wanted:
        if name in computation.named:
            continue
        found = find_parameter(run, name) if run is not None else None
        if found is None:
            known = list(computation.named)
            params = parameter_names(run) if run is not None else []
            listed = f"variables: {', '.join(known)}"
            if params:
                shown = ", ".join(params[:6]) + (", ..." if len(params) > 6 else "")
                listed += f"; parameters: {shown}"
            raise UsageError(
                f"no variable or parameter is called {name!r}"
                if params
                else f"no variable is called {name!r}",
                suggestion(name, [*known, *params], listed),
            )
        parameters[name] = found
    explainer = _Explainer(computation, gradient)
    return [
        explainer.parameter(name, *parameters[name])
        if name in parameters
        else explainer.why(name, computation.named[name])
        for name in wanted
    ]


class _Explainer:
    def __init__(self, computation: Computation, gradient: torch.Tensor | None) -> None:
        self.computation = computation
        self.sources = computation.sources or SourceMap()
        result = computation.result
        self.order: list[Any] = []
        self.ids: dict[Any, int] = {}
        if result.grad_fn is not None:
            _, (self.order, self.ids) = traced(result, computation.named, sources=self.sources)
        self.stale = stale_saved(self.order)
        # A program ran its own backward calls: explain what it did, not one more call.
        if self.order and not self.stale and computation.program is None:
            import torch

            try:
                torch.autograd.backward(result, backward_vector(result, gradient))
            except RuntimeError as error:
                raise backward_error(error) from None
        self.accumulators = {
            id(node.variable): node for node in self.order if short_name(node) == "AccumulateGrad"
        }

    def parameter(self, name: str, tensor: torch.Tensor, module: ModuleRecord) -> WhyRecord:
        """A model's parameter, by what the program did to it (see `why_models`)."""
        from autograd_cli.inspection.why_models import explain_parameter

        run = self.computation.program
        assert run is not None
        node = self.node_of(tensor)
        node_id = self.ids.get(node) if node is not None else None
        return explain_parameter(run, name, tensor, module, node_id, self._grad(tensor))

    # -- where things are -------------------------------------------------------------------

    def node_of(self, tensor: torch.Tensor) -> Any:
        """The node that stands for `tensor` in the result's graph (None: not in it)."""
        node = tensor.grad_fn if tensor.grad_fn is not None else self.accumulators.get(id(tensor))
        return node if node in self.ids else None

    def defined(self, name: str, tensor: torch.Tensor) -> Source | None:
        """Where a variable was made: its node's code, its definition, or its line."""
        found = (
            self.sources.get(tensor.grad_fn)
            if tensor.grad_fn is not None
            else self.sources.leaf(tensor)
        )
        line = self.computation.source.get(name)
        return found or (Source(line) if line is not None else None)

    def label(self, node_id: int) -> str:
        """`#3 MmBackward0 (from x @ w)`."""
        node = self.order[node_id]
        source = self.sources.get(node)
        where = f" (from {_quoted(source)})" if source is not None else ""
        return f"#{node_id} {short_name(node)}{where}"

    def cut_of(self, name: str, tensor: torch.Tensor) -> PathCut | None:
        """A cut that made `tensor`, or happened while defining it."""
        defined = self.defined(name, tensor)
        for cut in self.sources.cuts:
            if cut.output is tensor:
                return cut
        for cut in self.sources.cuts:
            if defined is not None and defined.start is None and cut.source.code == defined.code:
                return cut
        return None

    def cut_before(self, tensor: torch.Tensor) -> PathCut | None:
        """A cut that `tensor` went into (itself, or through the graph of what went in)."""
        for cut in self.sources.cuts:
            for inp in cut.inputs:
                if inp is tensor:
                    return cut
                if inp.grad_fn is None:
                    continue
                nodes = reachable(inp.grad_fn)
                if tensor.grad_fn in nodes or any(
                    getattr(n, "variable", None) is tensor for n in nodes
                ):
                    return cut
        return None

    # -- in place ---------------------------------------------------------------------------

    def change_of(self, stale: StaleSaved) -> InPlaceChange | None:
        """The first in-place operation that moved the saved tensor past its saved version."""
        for change in self.sources.changes:
            tensor = change.tensor
            same_shape = stale.shape is None or tuple(tensor.shape) == stale.shape
            if version_of(tensor) == stale.now and change.version > stale.expected and same_shape:
                return change
        return None

    def changed_name(self, stale: StaleSaved, change: InPlaceChange | None) -> str | None:
        for name, tensor in self.computation.named.items():
            if change is not None and tensor is change.tensor:
                return name
        if change is not None:
            return None
        for name, tensor in self.computation.named.items():
            same_shape = stale.shape is None or tuple(tensor.shape) == stale.shape
            if version_of(tensor) == stale.now > 0 and same_shape:
                return name
        return None

    def inplace(self, name: str, tensor: torch.Tensor, node: Any) -> WhyRecord | None:
        """Backward would fail: say so for every tensor it touches, and the changed one."""
        if not self.stale:
            return None
        found: tuple[StaleSaved, str] | None = None
        for stale in self.stale:
            change = self.change_of(stale)
            changed = change.tensor is tensor if change else self.changed_name(stale, None) == name
            if changed:
                found = (stale, f"{name} was changed in place after it was saved: {{node}} {{it}}")
                break
        if found is None and node is not None:
            for stale in self.stale:
                if node is self.order[stale.node]:
                    found = (stale, f"{name} is made by {{node}}, which {{it}}")
                elif node in reachable(self.order[stale.node]):
                    found = (stale, f"{name}'s gradient must pass through {{node}}, which {{it}}")
                else:
                    continue
                break
            else:
                found = (self.stale[0], f"{name} gets no gradient either: {{node}} {{it}}")
        if found is None:
            return None
        stale, sentence = found
        change = self.change_of(stale)
        what = self.changed_name(stale, change) or "a tensor"
        by = _quoted(change.source) if change is not None else "an in-place operation"
        it = (
            f"saved {what} for backward (its `{stale.saved}`, at version {stale.expected}), "
            f"and {by} changed it afterwards (now at version {stale.now})"
        )
        explanation = (
            sentence.format(node=self.label(stale.node), it=it)
            + f'. backward() would fail with torch\'s "{INPLACE_ERROR}".'
        )
        source = change.source if change is not None else self.sources.get(self.order[stale.node])
        return WhyRecord(name, False, Reason.MODIFIED_INPLACE, explanation, source, node=stale.node)

    # -- the answer -------------------------------------------------------------------------

    def why(self, name: str, tensor: torch.Tensor) -> WhyRecord:
        node = self.node_of(tensor)
        node_id = self.ids.get(node) if node is not None else None
        result = self.computation.result_name
        defined = self.defined(name, tensor)
        failing = self.inplace(name, tensor, node)
        if failing is not None:
            return failing
        if name == result and tensor.requires_grad:
            return WhyRecord(
                name,
                self._grad(tensor) is not None,
                Reason.RESULT,
                f"backward starts from {name} (with 1 for a scalar, or the {param('vector')} "
                "given) "
                "and passes the gradient on to what it was computed from.",
                defined,
                node_id,
                self._grad(tensor),
            )
        if not tensor.requires_grad:
            return self.not_tracked(name, tensor, defined)
        if node_id is None:
            cut = self.cut_before(tensor)
            if cut is not None:
                reason, words = _CUT_WORDS[cut.kind]
                return WhyRecord(
                    name,
                    False,
                    reason,
                    f"{name} requires grad, but its path to {result} is cut by {words} at "
                    f"{_quoted(cut.source)}: nothing flows back to it, so {name}.grad stays "
                    "None.",
                    cut.source,
                )
            return WhyRecord(
                name,
                False,
                Reason.UNUSED,
                f"{result} does not depend on {name}: no path in its graph leads back to "
                f"{name}, so backward never reaches it and {name}.grad stays None.",
                defined,
            )
        made_by = f"#{node_id} {short_name(node)} made it"
        if tensor.grad_fn is None:
            return WhyRecord(
                name,
                tensor.grad is not None,
                Reason.HAS_GRAD,
                f"{name} is a leaf that requires grad, and {result} depends on it: backward "
                f"filled {name}.grad with d({result})/d({name}).",
                defined,
                node_id,
                self._grad(tensor),
            )
        if tensor.retains_grad:
            by_tool = name in self.computation.retained
            who = (
                f"autograd-cli called {name}.retain_grad() (retained by autograd-cli; None in "
                "plain PyTorch)"
                if by_tool
                else f"{name}.retain_grad() was called before backward"
            )
            return WhyRecord(
                name,
                tensor.grad is not None,
                Reason.RETAINED,
                f"{name} is not a leaf ({made_by}); {who}, so {name}.grad holds "
                f"d({result})/d({name}). Without retain_grad() a non-leaf's .grad stays None "
                "(reading it only warns).",
                defined,
                node_id,
                self._grad(tensor),
            )
        return WhyRecord(
            name,
            False,
            Reason.NON_LEAF,
            f"{name} is not a leaf ({made_by}): backward passes its gradient on to the "
            f"leaves without keeping it, so {name}.grad stays None (torch only warns when "
            f"you read it). Call {name}.retain_grad() before backward to keep it.",
            defined,
            node_id,
        )

    def not_tracked(self, name: str, tensor: torch.Tensor, defined: Source | None) -> WhyRecord:
        if not (tensor.is_floating_point() or tensor.is_complex()):
            dtype = str(tensor.dtype).removeprefix("torch.")
            return WhyRecord(
                name,
                False,
                Reason.INTEGER,
                f"{name} is an integer tensor ({dtype}): only floating-point and complex "
                "tensors can require grad, so it never gets a gradient.",
                defined,
            )
        cut = self.cut_of(name, tensor)
        if cut is not None:
            reason, words = _CUT_WORDS[cut.kind]
            made = "made by" if cut.output is tensor else "computed through"
            return WhyRecord(
                name,
                False,
                reason,
                f"{name} was {made} {words} at {_quoted(cut.source)}: torch recorded no graph "
                f"for it, so it does not require grad and {name}.grad stays None.",
                cut.source,
            )
        if tensor.is_inference():
            return WhyRecord(
                name,
                False,
                Reason.INFERENCE_MODE,
                f"{name} was made under inference_mode: an inference tensor never requires "
                "grad, so it has no gradient.",
                defined,
            )
        return WhyRecord(
            name,
            False,
            Reason.CONSTANT,
            f"{name} does not require grad (a constant): autograd computes no gradient for "
            f"it, so {name}.grad stays None.",
            defined,
        )

    @staticmethod
    def _grad(tensor: torch.Tensor) -> GradRecord | None:
        # Reading `.grad` of a non-leaf that does not retain it only makes torch warn.
        if not (tensor.is_leaf or tensor.retains_grad) or tensor.grad is None:
            return None
        return grad_record(tensor.grad, with_values=True)


def _quoted(source: Source) -> str:
    """The code in backticks, without the indent a trusted file's whole line has."""
    return f"`{source.text.strip()}`"
