"""Defaults the command line shows and the layers below it use: torch-free, so `--help`
reads them without importing a layer that computes.

The two tolerance pairs differ on purpose: `--expect` compares a formula with autograd's
gradient as closely as `torch.allclose` does; `--check` compares with finite differences,
which are only as good as their step, so it takes `torch.autograd.gradcheck`'s looser ones.
"""

#: The most elements one tensor of an expression may have (`--max-elements`).
DEFAULT_MAX_ELEMENTS = 10_000_000

#: `grad --expect`: `torch.allclose`'s defaults (`--rtol`, `--atol` change them).
EXPECT_RTOL, EXPECT_ATOL = 1e-5, 1e-8

#: `grad --check`: gradcheck's defaults: central differences of this step, these tolerances.
GRADCHECK_EPS, GRADCHECK_ATOL, GRADCHECK_RTOL = 1e-6, 1e-5, 1e-3

#: The most backward calls `accumulate --times` makes: a run that long takes minutes.
MAX_CALLS = 10_000_000

#: The most nodes a tree view shows unless told otherwise (`graph --max-nodes`, `show()`).
TREE_MAX_NODES = 200
