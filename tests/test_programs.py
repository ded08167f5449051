"""PyTorch programs as input: `step FILE`, `--file`, `--code`, `--trust`.

Each program's numbers are checked against plain PyTorch run on the same code and seed,
or against the numbers the seed lesson, the official tutorial and micrograd's tests print.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import Invoke, load_document, load_lines, run_json

PROGRAMS = Path(__file__).parent / "programs"
EXAMPLES = Path(__file__).parents[1] / "examples"
SEED_LESSON = Path(__file__).parents[2] / "shared" / "seed" / "lesson5-autograd.md"
LESSON = Path(__file__).parents[1] / "src" / "autograd_cli" / "lessons" / "lesson5.py"


def printed(doc: dict[str, object]) -> list[str]:
    events = doc["events"]
    assert isinstance(events, list)
    return [line for e in events if e["event"] == "statement" for line in e["printed"]]


def test_the_shipped_lesson_is_the_seed_lessons_cells_unmodified() -> None:
    cells = re.findall(r"```python\n(.*?)```", SEED_LESSON.read_text("utf-8"), re.S)
    assert LESSON.read_text("utf-8") == "\n".join(c.rstrip("\n") + "\n" for c in cells)


def test_lesson_prints_what_plain_pytorch_prints(cli: Invoke, tmp_path: Path) -> None:
    doc = run_json(cli, "step", str(LESSON))
    # plain PyTorch on the same code after torch.manual_seed(0), written out here
    torch.manual_seed(0)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(torch.ones(5), w) + b
    torch.nn.functional.binary_cross_entropy_with_logits(z, torch.zeros(3)).backward()
    lines = printed(doc)
    assert lines[0] == "z = <AddBackward0 object #4>"
    assert lines[1] == "loss = <BinaryCrossEntropyWithLogitsBackward0 object #6>"
    assert "\n".join(lines[2:8]) == f"{w.grad}\n{b.grad}"
    assert lines[8:11] == ["True", "False", "False"]
    text = "\n".join(lines)
    first = "[[4., 2., 2., 2., 2.],"
    second = "[[8., 4., 4., 4., 4.],"
    assert text.index(first) < text.index(second) < text.rindex(first)
    assert doc["failure"] is None and doc["statements"] == 30


def test_each_lesson_cell_runs_as_the_notebook_ran_it(cli: Invoke, tmp_path: Path) -> None:
    """The seed's cells pasted into files, each the cells up to that one."""
    cells = re.findall(r"```python\n(.*?)```", SEED_LESSON.read_text("utf-8"), re.S)
    for count in range(1, len(cells) + 1):
        path = tmp_path / f"cells_{count}.py"
        path.write_text("\n".join(cells[:count]), "utf-8")
        for command in (["step", str(path)], ["graph", "-f", str(path)]):
            result = cli(*command)
            if command[0] == "graph" and count < 2:
                assert result.exit_code == 2  # no tensor with a grad_fn yet
                assert "no tensor with a grad_fn" in result.stderr
            else:
                assert result.exit_code == 0, (count, command, result.stderr)


def test_lesson_backward_step_shows_engine_order_and_grads(cli: Invoke) -> None:
    doc = run_json(cli, "step", str(LESSON))
    call = next(e for e in doc["events"] if e["code"] == "loss.backward()")["backward"][0]
    assert call["root"] == "loss" and call["graph"] == "freed"
    assert call["nodes"][0] == "#6 BinaryCrossEntropyWithLogitsBackward0"
    assert {"#3 AccumulateGrad", "#5 AccumulateGrad"} <= set(call["nodes"])
    assert [g["tensor"] for g in call["grads"]] == ["b", "w"]
    assert all(g["before"] is None for g in call["grads"])
    zero = next(e for e in doc["events"] if e["code"] == "inp.grad.zero_()")
    assert zero["grads"][0]["tensor"] == "inp" and zero["grads"][0]["how"] == "zero_"
    assert zero["grads"][0]["before"][0][0] == 8.0 and zero["grads"][0]["after"][0][0] == 0.0
    modes = [m for e in doc["events"] for m in e["modes"]]
    assert modes == ["grad mode off (no_grad)", "back to grad mode on"]


def test_step_view_of_the_lesson(
    cli: Invoke, golden: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(LESSON.parent)
    result = cli("step", LESSON.name)
    assert result.exit_code == 0
    golden("step_lesson.txt", result.stdout)  # type: ignore[operator]


def test_official_tutorial_q_and_eye(cli: Invoke) -> None:
    doc = run_json(cli, "step", str(EXAMPLES / "tutorial.py"))
    lines = printed(doc)
    assert lines[:2] == ["tensor([True, True])", "tensor([True, True])"]
    assert lines[3] == "tensor([[4., 2., 2., 2., 2.],"
    assert "tensor([[8., 4., 4., 4., 4.]," in lines
    assert lines[-4] == "tensor([[4., 2., 2., 2., 2.],"


def test_micrograd_sanity_check_indented_as_in_its_test(cli: Invoke) -> None:
    doc = run_json(cli, "step", str(EXAMPLES / "micrograd_sanity.py"))
    assert printed(doc)[-1] == "-20.0 46.0"


def test_micrograd_more_ops(cli: Invoke) -> None:
    line = printed(run_json(cli, "step", str(PROGRAMS / "micrograd_more_ops.py")))[-1]
    g, a, b = map(float, line.split())
    assert abs(g - 24.70408163265306) < 1e-6
    assert abs(a - 138.83381924198252) < 1e-6
    assert abs(b - 645.5772594752186) < 1e-6


def test_code_and_stdin(cli: Invoke) -> None:
    code = "import torch; x = torch.ones(3, requires_grad=True); (x * x).sum().backward()"
    code += "; print(x.grad)"
    assert printed(run_json(cli, "step", "--code", code)) == ["tensor([2., 2., 2.])"]
    from typer.testing import CliRunner

    from autograd_cli.cli import app

    result = CliRunner().invoke(app, ["step", "-", "--json"], input=code.replace("; ", "\n"))
    assert printed(load_document(result.stdout)) == ["tensor([2., 2., 2.])"]


def test_long_loops_fold_and_keep_first_and_last(cli: Invoke) -> None:
    code = textwrap.dedent(
        """\
        import torch
        w = torch.ones(2, requires_grad=True)
        for i in range(1000):
            loss = (w * i).sum()
            loss.backward()
        print(w.grad)
        """
    )
    doc = run_json(cli, "step", "--code", code)
    folded = [e for e in doc["events"] if e["event"] == "folded"]
    assert folded == [{"event": "folded", "line": 3, "iterations": 997, "statements": 1994}]
    loops = [e["loop"]["i"] for e in doc["events"] if e["event"] == "statement" and e["loop"]]
    assert loops == ["0", "0", "1", "1", "999", "999"]
    assert printed(doc) == [f"tensor([{sum(range(1000))}., {sum(range(1000))}.])"]
    assert doc["statements"] == 2 + 2000 + 1


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("import os", "`import os` is not allowed"),
        ("import torch\ndef f(x):\n    return x", "line 2: `def`"),
        ("class A:\n    pass", "line 1: `class`"),
        ("while True:\n    pass", "`while` loops are not interpreted"),
        ("f = lambda x: x", "`lambda` is not interpreted"),
        ("import torch\nx = torch.ones(3).__class__", "'__class__' is not allowed"),
        ("import torch\nx = torch.ones(3)\ny = x.data", "`.data` bypasses autograd"),
        ("import torch\ntorch.load('x')", "'torch.load' is not in the whitelist"),
        ("import torch\nfor i in range(10**9):\n    pass", "loops and lists take at most"),
        ("import torch\nx = torch.ones(10**5, 10**5)", "10,000,000,000 elements"),
        ("x = [i for i in range(3)]", "comprehensions"),
        ("x = eval('1')", "unknown name 'eval'"),
        ("import torch\nx = torch.ones(3)\nx.foo = 1", "'foo'"),
        ("import torch\nwith open('f') as g:\n    pass", "`with ... as NAME`"),
        ("from os import path", "is not allowed"),
        ("import torch\nx = torch.ones(3)\nx.shape.__len__()", "'__len__' is not allowed"),
        ("x = 2 ** 64", "integers are 64-bit here"),
        ("import torch\nx = torch.randn(3)\nprint(f'{x.__class__}')", "is not allowed"),
    ],
)
def test_refused_programs_name_the_line_and_exit_2(cli: Invoke, code: str, words: str) -> None:
    result = cli("step", "--code", code)
    assert result.exit_code == 2, result.stdout
    assert words in result.stderr and "line " in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("x = torch.ones(3, requires_grad=True)\nx += 1", "leaf Variable that requires grad"),
        (
            "x = torch.ones(3, requires_grad=True)\ny = (x * x).sum()\ny.backward()\ny.backward()",
            "backward through the graph a second time",
        ),
        ("x = torch.ones(3, requires_grad=True)\n(x * 2).backward()", "only for scalar outputs"),
        ("x = torch.ones(3) + torch.ones(4)", "must match the size"),
        ("assert 1 == 2, 'no'", "assertion failed: no"),
        ("y = undefined_before + 1\nundefined_before = 2", "name 'undefined_before' is not"),
    ],
)
def test_failed_programs_exit_1_with_the_line(cli: Invoke, code: str, words: str) -> None:
    result = cli("step", "--code", "import torch\n" + code)
    assert result.exit_code == 1
    assert words in result.stdout and "failed at line" in result.stdout


def test_expr_options_are_refused_with_a_program(cli: Invoke) -> None:
    for option in (["--var", "x=ones(2)"], ["--wrt", "x"], ["--dtype", "float64"], ["--lesson"]):
        result = cli("graph", "--code", "import torch", *option)
        assert result.exit_code == 2
        assert "belongs to --expr" in result.stderr and "say it in the program" in result.stderr


def test_seed_changes_draws_as_torch_manual_seed(cli: Invoke) -> None:
    code = "import torch\nprint(torch.randn(2))"
    for seed in (0, 7):
        torch.manual_seed(seed)
        expected = [str(torch.randn(2))]
        assert printed(run_json(cli, "step", "--code", code, "--seed", str(seed))) == expected
    code = "import torch\ntorch.manual_seed(3)\nprint(torch.randn(2))"
    torch.manual_seed(3)
    expected = [str(torch.randn(2))]
    assert printed(run_json(cli, "step", "--code", code)) == expected


def test_trusted_file_runs_as_python(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(
        textwrap.dedent(
            """\
            import sys
            import torch

            class Double(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    return 2 * x

                @staticmethod
                def backward(ctx, g):
                    return 2 * g

            x = torch.ones(2, requires_grad=True)
            Double.apply(x).sum().backward()
            print(__name__, sys.argv == [sys.argv[0]], x.grad)
            sys.exit(4)
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "autograd_cli", "step", "--trust", str(path), "--json"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 4, out.stderr
    doc = load_document(out.stdout)
    assert doc["trusted"] is True
    assert printed(doc) == ["__main__ True tensor([2., 2.])"]
    call = next(e for e in doc["events"] if e["backward"])["backward"][0]
    assert any("DoubleBackward" in node for node in call["nodes"])


def test_trust_is_for_files_only(cli: Invoke) -> None:
    result = cli("step", "--code", "import torch", "--trust")
    assert result.exit_code == 2 and "never trusted" in result.stderr


def test_a_trusted_file_that_raises_is_a_failed_program(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("import torch\n\nraise ValueError('boom')\n")
    result = cli("step", "--trust", str(path))
    assert result.exit_code == 1
    assert "failed at line 3: ValueError: boom" in result.stdout


def test_a_refused_trusted_construct_suggests_trust(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "net.py"
    path.write_text("import torch\nclass Net(torch.nn.Module):\n    pass\n")
    result = cli("step", str(path))
    assert result.exit_code == 2 and "--trust" in result.stderr


@settings(deadline=None)  # each example runs a program: its time is the machine's, not ours
@given(st.text(max_size=200))
def test_any_text_is_run_or_refused_cleanly(text: str) -> None:
    from typer.testing import CliRunner

    from autograd_cli.cli import app

    result = CliRunner().invoke(app, ["step", "--code", text, "--json"])
    assert result.exit_code in (0, 1, 2), (text, result.stderr, result.exception)
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


@settings(deadline=None, max_examples=50)
@given(
    st.lists(
        st.sampled_from(
            [
                "x = torch.ones(2, requires_grad=True)",
                "y = x * 3",
                "y = y + x",
                "x.grad = None",
                "y.sum().backward()",
                "with torch.no_grad():\n    y = x * 2",
                "for i in range(3):\n    y = y * 2",
                "print(y, x.grad)",
                "x += 1",
                "z = y.detach()",
            ]
        ),
        max_size=8,
    )
)
def test_statement_sequences_never_crash(statements: list[str]) -> None:
    from typer.testing import CliRunner

    from autograd_cli.cli import app

    code = "import torch\n" + "\n".join(statements)
    result = CliRunner().invoke(app, ["step", "--code", code, "--json"])
    assert result.exit_code in (0, 1, 2), (code, result.exception)
    doc = load_document(result.stdout) if result.exit_code in (0, 1) else None
    if doc is not None:
        assert (doc["failure"] is None) == (result.exit_code == 0)


def test_graph_of_a_program_defaults_to_the_last_backward_root(cli: Invoke) -> None:
    doc = run_json(cli, "graph", "-f", str(LESSON))
    # the lesson last calls out.backward(...): out = (inp+1).pow(2)
    assert [n["name"] for n in doc["nodes"]] == ["PowBackward0", "AddBackward0", "AccumulateGrad"]
    assert doc["nodes"][0]["source"]["line"] == 31
    assert doc["nodes"][2]["leaf"] == "inp"
    loss = run_json(cli, "graph", "-f", str(LESSON), "--root", "loss")
    assert loss["nodes"][0]["name"] == "BinaryCrossEntropyWithLogitsBackward0"
    missing = cli("graph", "-f", str(LESSON), "--root", "nope")
    assert missing.exit_code == 2 and "no tensor called 'nope'" in missing.stderr


def test_grad_shows_grads_as_the_program_left_them(cli: Invoke) -> None:
    doc = run_json(cli, "grad", "-f", str(EXAMPLES / "tutorial.py"), "--expect", "a=9*a**2")
    grads = {v["name"]: v["grad"] for v in doc["variables"]}
    assert grads["a"] == [36.0, 81.0] and grads["b"] == [-12.0, -8.0]
    assert grads["inp"][0] == [4.0, 2.0, 2.0, 2.0, 2.0]  # zeroed, then one more call
    assert doc["expect"][0]["passed"] is True
    wrong = cli("grad", "-f", str(EXAMPLES / "tutorial.py"), "--expect", "a=a**2")
    assert wrong.exit_code == 1
    for option in ("--jacobian", "--check", "--hessian"):
        refused = cli("grad", "-f", str(EXAMPLES / "tutorial.py"), option)
        assert refused.exit_code == 2 and "not on a program" in refused.stderr


def test_why_explains_from_what_the_program_did(cli: Invoke) -> None:
    code = textwrap.dedent(
        """\
        import torch
        x = torch.ones(3, requires_grad=True)
        y = x * 2
        z = y.detach()
        loss = (z * x).sum()
        """
    )
    doc = run_json(cli, "why", "x", "--code", code)
    assert doc["has_grad"] is False  # the program never called backward
    doc = run_json(cli, "why", "x", "--code", code + "loss.backward()\n")
    assert doc["has_grad"] is True and doc["grad"]["values"] == [2.0, 2.0, 2.0]


def test_backward_watches_the_programs_own_last_call(cli: Invoke) -> None:
    doc = run_json(cli, "backward", "-f", str(EXAMPLES / "tutorial.py"))
    assert doc["result"] == "out"
    assert [s["node"] for s in doc["steps"]] == [0, 1, 2, 3]
    # as plain PyTorch: the program's last call retained the graph, so it ran once more
    # without failing, and inp.grad holds one call's worth after the zero_()
    assert doc["graph"]["nodes"][3]["name"] == "AccumulateGrad"


def test_accumulate_ledger_of_a_program(cli: Invoke) -> None:
    doc = run_json(cli, "accumulate", "-f", str(LESSON))
    assert doc["calls"] == 4
    inp = [r for r in doc["rows"] if r["change"]["tensor"] == "inp"]
    assert [r["note"] for r in inp] == ["first", "= 2 x the first", "zero_", "first"]
    assert doc["rules"] == [
        {
            "rule": "inp.grad after 2 calls of `out.backward(torch.ones_like(inp),"
            "retain_graph=True)` (line 34) is 2 x the first call's",
            "holds": True,
        }
    ]
    refused = cli("accumulate", "-f", str(LESSON), "--times", "3")
    assert refused.exit_code == 2 and "a program makes its own" in refused.stderr


def test_modes_refuses_a_program(cli: Invoke) -> None:
    result = cli("modes", "-f", str(LESSON))
    assert result.exit_code == 2 and "a program runs once" in result.stderr


def test_a_batch_job_cannot_trust(cli: Invoke, tmp_path: Path) -> None:
    program = tmp_path / "p.py"
    program.write_text("import torch\nx = torch.ones(2, requires_grad=True)\ny = (x * x).sum()\n")
    jobs = tmp_path / "jobs.toml"
    jobs.write_text(
        f'[[job]]\ncommand = "graph"\nfile = "{program}"\n\n'
        f'[[job]]\ncommand = "graph"\nfile = "{program}"\ntrust = true\n'
    )
    result = cli("run", str(jobs), "--json")
    lines = load_lines(result.stdout)
    assert lines[0]["nodes"][0]["name"] == "SumBackward0"
    assert lines[1]["status"] == "invalid" and "cannot be trusted" in lines[1]["error"]
    assert result.exit_code == 2


def test_only_the_tools_own_retained_gradients_are_marked(cli: Invoke) -> None:
    expr = run_json(cli, "grad", "--expr", "sum(h)", "--var", "x=ones(2)", "--var", "h=x*2")
    marks = {v["name"]: v["retained_by_tool"] for v in expr["variables"]}
    assert marks == {"x": False, "h": True}
    code = "import torch\nx = torch.ones(2, requires_grad=True)\nh = x * 2\nh.retain_grad()\n"
    program = run_json(cli, "grad", "--code", code + "r = h.sum()\nr.backward()\n")
    variables = {v["name"]: v for v in program["variables"]}
    assert variables["h"]["grad"] == [1.0, 1.0] and variables["h"]["retained_by_tool"] is False
    plain = run_json(cli, "grad", "--code", code.replace("h.retain_grad()\n", "") + "r = h.sum()")
    assert {v["name"]: v["grad"] for v in plain["variables"]} == {"x": None, "h": None}


def test_record_api_watches_the_callers_own_lines() -> None:
    import autograd_cli
    from autograd_cli.records.timeline import StepEvent

    with autograd_cli.record(seed=0) as run:
        a = torch.ones(2, requires_grad=True)
        b = (a * 3).sum()
        b.backward()
    events = [e for e in run.timeline.entries if isinstance(e, StepEvent)]
    assert [e.code for e in events] == [
        "a = torch.ones(2, requires_grad=True)",
        "b = (a * 3).sum()",
        "b.backward()",
    ]
    assert events[1].bound[0].name == "b" and events[1].bound[0].grad_fn == "#3 SumBackward0"
    (call,) = events[2].backward
    assert call.root == "b" and call.grads[0].tensor == "a" and call.grads[0].after == [3.0, 3.0]
    assert run.computation("b").result is b


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("x = list(range(10**9))", "a range of 1,000,000,000 numbers"),
        ("x = sum(range(10**12))", "loops and lists take at most"),
        ("print(f'{1:>999999999}')", "a format spec wider than"),
        ("x = torch.zeros(200000).tolist()", ".tolist() of 200,000 elements"),
        ("s = 'ab'\nfor i in range(25):\n    s = s + s", "a string of more than"),
        ("x = [1] * 10**9", "unsupported operand types"),
    ],
)
def test_no_python_value_grows_without_bound(cli: Invoke, code: str, words: str) -> None:
    result = cli("step", "--code", "import torch\n" + code)
    assert result.exit_code in (1, 2)
    assert words in result.stderr + result.stdout


def test_the_iteration_bound_counts_every_loop_together() -> None:
    from autograd_cli.errors import UsageError
    from autograd_cli.program.interpreter import Limits
    from autograd_cli.program.run import run_program
    from autograd_cli.program.source import from_text

    program = from_text("for i in range(6):\n    pass\nfor j in range(6):\n    pass\n", "<t>")
    with pytest.raises(UsageError, match="line 3: this loop would bring the program to 12"):
        run_program(program, seed=0, limits=Limits(max_iterations=10))


def test_without_input_the_lesson_runs_as_its_program(cli: Invoke) -> None:
    """graph, grad, why and backward run the lesson's network cells, with PyTorch's
    semantics: z.grad is None in grad, as why says, and nothing is retained by the tool."""
    grad = run_json(cli, "grad")
    variables = {v["name"]: v for v in grad["variables"]}
    assert variables["z"]["grad"] is None and not variables["z"]["is_leaf"]
    assert not any(v["retained_by_tool"] for v in grad["variables"])
    assert run_json(cli, "why", "z")["reason"] == "non_leaf"
    graph = run_json(cli, "graph")
    assert graph["nodes"][0]["source"]["line"] == 10  # loss = ... in lessons/lesson5.py
    backward = run_json(cli, "backward")
    assert backward["graph"]["nodes"][0]["name"] == "BinaryCrossEntropyWithLogitsBackward0"
    # the same numbers as the seed's code under plain PyTorch, and as the built network
    # that --vector re-runs (so the two are one network)
    torch.manual_seed(0)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(torch.ones(5), w) + b
    torch.nn.functional.binary_cross_entropy_with_logits(z, torch.zeros(3)).backward()
    assert w.grad is not None
    assert variables["w"]["grad"] == w.grad.tolist()
    rerun = run_json(cli, "grad", "--vector", "ones_like(result)")
    assert {v["name"]: v["grad"] for v in rerun["variables"]}["w"] == w.grad.tolist()


def test_step_without_a_file_steps_through_the_whole_lesson(cli: Invoke) -> None:
    doc = run_json(cli, "step")
    assert doc["statements"] == 30 and doc["failure"] is None
    text = "\n".join(printed(doc))
    assert text.index("[[4., 2., 2., 2., 2.],") < text.index("[[8., 4., 4., 4., 4.],")
    result = cli("lesson", "--print-code")
    assert result.stdout == LESSON.read_text("utf-8")
