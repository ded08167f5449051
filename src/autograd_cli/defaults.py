"""Defaults the command line shows and the layers below it use: torch-free, so `--help`
reads them without importing a layer that computes.

The two tolerance pairs differ on purpose: `--expect` compares a formula with autograd's
gradient as closely as `torch.allclose` does; `--check` compares with finite differences,
which are only as good as their step, so it takes `torch.autograd.gradcheck`'s looser ones.
"""

#: The most elements one tensor of an expression may have (`--max-elements`).
DEFAULT_MAX_ELEMENTS = 10_000_000

#: Every tensor one evaluation makes, together, may have this many times `--max-elements`
#: (10^8 by default: 800 MB in float64, under 2 GiB with the gradients): many variables
#: each within the bound would otherwise exhaust memory before any one of them is refused.
TOTAL_ELEMENTS_FACTOR = 10

#: What one torch call costs in element operations besides its elements: the evaluator's
#: own work (bounds, warnings, sources), about 0.1 ms, as many elements as torch handles then.
OP_WORK = 100_000

#: `grad --expect`: `torch.allclose`'s defaults (`--rtol`, `--atol` change them).
EXPECT_RTOL, EXPECT_ATOL = 1e-5, 1e-8

#: `grad --check`: gradcheck's defaults: central differences of this step, these tolerances.
GRADCHECK_EPS, GRADCHECK_ATOL, GRADCHECK_RTOL = 1e-6, 1e-5, 1e-3

#: The most backward calls `accumulate --times` makes: about 20 s on a 2-core machine.
MAX_CALLS = 100_000

#: The most gradient numbers an `accumulate` run keeps: beyond, it keeps every K-th call
#: (its JSON's `every` says K), so memory stays flat however many calls are made.
MAX_KEPT_NUMBERS = 1_000_000

#: The most nodes a tree view shows unless told otherwise (`graph --max-nodes`, `show()`).
TREE_MAX_NODES = 200

#: `grad --jacobian`: how closely v^T J, built from the Jacobian, must match backward's
#: .grad (two routes through float32 arithmetic, so looser than `--expect`'s).
VJP_RTOL, VJP_ATOL = 1e-4, 1e-6
