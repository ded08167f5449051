"""The tolerances of grad's two checks: torch-free, so `grad --help` shows them cheaply.

They differ on purpose: `--expect` compares a formula with autograd's gradient as closely
as `torch.allclose` does; `--check` compares with finite differences, which are only as
good as their step, so it takes `torch.autograd.gradcheck`'s looser defaults.
"""

#: `--expect`: `torch.allclose`'s defaults (`--rtol`, `--atol` change them).
EXPECT_RTOL, EXPECT_ATOL = 1e-5, 1e-8

#: `--check`: gradcheck's defaults: central differences of this step, these tolerances.
GRADCHECK_EPS, GRADCHECK_ATOL, GRADCHECK_RTOL = 1e-6, 1e-5, 1e-3
