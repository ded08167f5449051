"""Every bound limits a command's total work and memory, and is checked before the work.

Counts alone (entries, inputs, calls, rounds, jobs) let a large computation times a large
count run for hours; these tests hold each command to its total, and show the clear
refusal past it. Speed itself is measured in benchmarks/limits.py, not here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograd_cli.batch.jobfile import MAX_JOBS
from autograd_cli.defaults import MAX_KEPT_NUMBERS
from autograd_cli.inspection.grads import MAX_CHECK_INPUTS, MAX_JACOBIAN_ENTRIES
from autograd_cli.program.source import MAX_BRACKETS, MAX_PROGRAM_CHARS
from autograd_cli.program.source import MAX_DEPTH as MAX_PROGRAM_DEPTH
from conftest import Invoke, run_json


def _refused(cli: Invoke, *args: str) -> str:
    result = cli(*args)
    assert result.exit_code == 2, result.stdout
    assert result.stdout == "" and "Traceback" not in result.stderr
    return " ".join(result.stderr.split())


def test_a_jacobian_of_many_outputs_runs_in_forward_mode(cli: Invoke) -> None:
    """x * ones(N) with one input: one forward-mode pass, where reverse mode took N passes
    and memory N^2 (3.7 GB at 3x10^4)."""
    n = MAX_JACOBIAN_ENTRIES // 10
    result = cli(
        *("grad", "--expr", f"x * ones({n})", "--var", "x=randn(1)"),
        *("--vector", "ones_like(result)", "--jacobian", "--json"),
        validate=False,
    )
    assert result.exit_code == 0, result.stderr
    # 10^5 numbers: plain json (the schema is checked on the small Jacobians below)
    doc = json.loads(result.stdout)
    (jacobian,) = doc["jacobian"]
    assert jacobian["shape"] == [n, 1] and jacobian["matches_grad"]


def test_forward_and_reverse_jacobians_agree(cli: Invoke) -> None:
    common = ("--var", "w=randn(2, 3)", "--vector", "ones_like(result)", "--jacobian")
    wide = run_json(cli, "grad", "--expr", "sin(x @ w)", "--var", "x=randn(4, 2)", *common)
    for part in wide["jacobian"]:
        assert part["matches_grad"], part["name"]


def test_jacobian_entries_are_bounded_over_every_variable(cli: Invoke) -> None:
    message = _refused(
        cli,
        *("grad", "--expr", "x * y", "--var", "x=randn(800)", "--var", "y=randn(800)"),
        *("--vector", "ones_like(result)", "--jacobian"),
    )
    assert "1,280,000 entries" in message and f"{MAX_JACOBIAN_ENTRIES:,}" in message


def test_check_inputs_are_bounded_over_every_variable(cli: Invoke) -> None:
    args = ["grad", "--expr", "sum(a * b)"]
    args += ["--var", "a=randn(1500)", "--var", "b=randn(1500)", "--check"]
    message = _refused(cli, *args)
    assert "3,000 elements together" in message and f"{MAX_CHECK_INPUTS:,} in all" in message


def test_check_of_a_costly_computation_is_refused_before_it_runs(cli: Invoke) -> None:
    message = _refused(
        cli,
        *("grad", "--expr", "sum(x @ w)", "--var", "x=randn(2000)"),
        *("--var", "w=randn(2000, 5000)", "--wrt", "x", "--check"),
    )
    assert "--check needs" in message and "passes" in message and "the limit is" in message


def test_accumulate_times_is_bounded_by_its_total_work(cli: Invoke) -> None:
    message = _refused(
        cli, "accumulate", "--times", "100000", "--expr", "sum(x * 2)", "--var", "x=randn(10**6)"
    )
    assert "accumulate --times needs 100,001 passes" in message


def test_bench_repeat_is_bounded_by_size(cli: Invoke) -> None:
    message = _refused(cli, "modes", "--bench", "--repeat", "1000", "--size", "3162")
    assert "modes --bench --repeat needs" in message


def test_accumulate_json_keeps_memory_flat_and_says_so(cli: Invoke) -> None:
    """Past MAX_KEPT_NUMBERS gradient numbers, a run keeps every K-th call; JSON says K."""
    times = 1000
    n = 2 * MAX_KEPT_NUMBERS // times  # twice what fits: every 2nd call (and the last)
    result = cli(
        *("accumulate", "--times", str(times), "--no-zero", "--json"),
        *("--expr", "sum(x)", "--var", f"x=randn({n})"),
        validate=False,
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)  # 10^6 numbers: too many for jsonschema, see below
    assert doc["every"] == 2 and doc["calls_made"] == times
    kept = [c["call"] for c in doc["calls"]]
    assert kept[:3] == [1, 2, 4] and kept[-1] == times
    assert len(kept) * n <= MAX_KEPT_NUMBERS + 2 * n


def test_every_call_is_in_the_json_below_the_limit(cli: Invoke) -> None:
    doc = run_json(cli, "accumulate", "--times", "50", "--no-zero")
    assert doc["every"] == 1 and [c["call"] for c in doc["calls"]] == list(range(1, 51))


def test_total_memory_across_variables_is_bounded(cli: Invoke) -> None:
    args = ["grad", "--expr", "sum(a0)", "--max-elements", "1000"]
    for i in range(11):
        args += ["--var", f"a{i}=randn(1000)"]
    message = _refused(cli, *args)
    assert "every tensor made so far to 11,000" in message and "10 x --max-elements" in message


def test_a_batch_holds_at_most_max_jobs(cli: Invoke, tmp_path: Path) -> None:
    batch = tmp_path / "jobs.toml"
    batch.write_text('[[job]]\ncommand = "lesson"\n' * (MAX_JOBS + 1), encoding="utf-8")
    message = _refused(cli, "run", str(batch))
    assert f"{MAX_JOBS + 1:,} jobs; the limit is {MAX_JOBS:,}" in message


@pytest.mark.parametrize(
    ("expr", "variables", "value"),
    [
        ("sum(full((n,), 1.0))", ["n=3"], 3.0),
        ("sum(ones((n, n)))", ["n=3"], 9.0),
        ("sum(full(n, 1.0))", ["n=3"], 3.0),
        ("sum(ones(n))", ["n=3"], 3.0),
        ("sum(tensor([n, 2]) * x)", ["n=3", "x=ones(2)"], 5.0),
        ("sum(x[::9223372036854775807])", ["x=arange(5.0)"], 0.0),
        ("sum(x[-100:100:3])", ["x=arange(5.0)"], 3.0),
    ],
)
def test_sizes_in_variables_and_huge_slices_work(
    cli: Invoke, expr: str, variables: list[str], value: float
) -> None:
    args = ["grad", "--expr", f"({expr}) * w", "--var", "w=ones(())"]
    for definition in variables:
        args += ["--var", definition]
    assert run_json(cli, *args)["value"] == value


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--expr", "norm(x, '\\x00')", "--var", "x=randn(3)"], "holds a control character"),
        (["--expr", "sum(tensor(data=x))", "--var", "x=randn(3)"], "already a tensor"),
        (
            ["--expr", "x * 2", "--var", "x=randn(0)", "--vector", "ones_like(result)", "-j"],
            "x has no elements",
        ),
        (["--expr", "sum(ones(n))", "--var", "n=10**9"], "1,000,000,000 elements"),
        (["--expr", "sum(ones(n))", "--var", "n=-1"], "whole numbers >= 0"),
    ],
)
def test_unclear_torch_errors_are_explained(cli: Invoke, args: list[str], words: str) -> None:
    message = _refused(cli, "grad", *[a if a != "-j" else "--jacobian" for a in args])
    assert words in message and "error:" in message


@pytest.mark.parametrize(
    ("limits", "code", "words"),
    [
        ({"max_ops": 10}, "x = torch.ones(1)\nfor i in range(20):\n    x = x + 1", "10 tensor ops"),
        (
            {"max_total_elements": 1000},
            "for i in range(20):\n    x = torch.zeros(100)",
            "1,000 tensor elements in all",
        ),
        ({"max_printed": 50}, "for i in range(20):\n    print('0123456789')", "50 characters"),
    ],
)
def test_a_program_is_bounded_in_total(limits: dict[str, int], code: str, words: str) -> None:
    """Ops, elements made and characters printed are counted over the whole run (every
    loop together), and the run stops before the op that would pass the bound."""
    from autograd_cli.errors import UsageError
    from autograd_cli.program.interpreter import Limits
    from autograd_cli.program.run import run_program
    from autograd_cli.program.source import from_text

    program = from_text("import torch\n" + code + "\n", "<t>")
    with pytest.raises(UsageError, match=words) as caught:
        run_program(program, seed=0, limits=Limits(**limits))
    assert "line 4" in caught.value.message or "line 3" in caught.value.message


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("x = 1\n" * (MAX_PROGRAM_CHARS // 6 + 1), f"the limit is {MAX_PROGRAM_CHARS:,}"),
        ("x = " + "(" * (MAX_BRACKETS + 1) + "1" + ")" * (MAX_BRACKETS + 1), "nested more than"),
        ("x = 1" + " + 1" * (MAX_PROGRAM_DEPTH + 1), f"nested more than {MAX_PROGRAM_DEPTH}"),
    ],
)
def test_a_program_text_is_bounded_before_it_is_parsed(
    cli: Invoke, tmp_path: Path, code: str, words: str
) -> None:
    program = tmp_path / "big.py"
    program.write_text(code, encoding="utf-8")
    message = _refused(cli, "step", str(program))
    assert words in message
