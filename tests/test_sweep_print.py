"""`print` in a program shows what plain Python shows."""

from __future__ import annotations

from conftest import Invoke, load_document


def test_print_of_max_with_a_dim_is_torchs(cli: Invoke) -> None:
    """`x.max(1)` is torch's named tuple (`torch.return_types.max`): printed as torch does."""
    import torch

    code = "import torch\nx = torch.tensor([[1.0, 3.0], [4.0, 2.0]])\nprint(x.max(1))"
    result = cli("step", "--code", code, "--json")
    assert result.exit_code == 0, result.stderr
    printed = [line for e in load_document(result.stdout)["events"] for line in e["printed"]]
    expected = str(torch.tensor([[1.0, 3.0], [4.0, 2.0]]).max(1))
    assert printed == expected.splitlines()


def test_a_printed_line_wider_than_the_terminal_keeps_its_mark_on_every_line(
    cli: Invoke,
) -> None:
    """A long printed line wraps under its `| `: the lines it wraps onto are marked too,
    so what the program printed stays apart from the step's own lines."""
    words = " ".join(f"w{k}" for k in range(60))
    result = cli("step", "--code", f"print('{words}')")
    assert result.exit_code == 0, result.stderr
    marked = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("|")]
    assert len(marked) > 1  # it did wrap
    assert " ".join(line.removeprefix("| ") for line in marked) == words


def test_a_step_code_line_wider_than_the_terminal_wraps_under_its_code(cli: Invoke) -> None:
    """A long statement wraps under its own first column (a hanging indent), not to the
    margin under the step numbers, where it read as lines of its own."""
    statement = "y = (" + " + ".join(f"x * {k}" for k in range(2, 40)) + ").sum()"
    code = f"import torch; x = torch.ones(3, requires_grad=True); {statement}"
    result = cli("step", "--code", code)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(k for k, line in enumerate(lines) if "y = (" in line)
    column = lines[start].index("y = (")
    wrapped = []
    for line in lines[start + 1 :]:
        if line.strip().startswith("y "):  # the facts of y: the step's own next line
            break
        wrapped.append(line)
    assert wrapped  # it did wrap
    assert all(line[:column].strip() == "" for line in wrapped)
    assert " ".join(line.strip() for line in [lines[start][column:], *wrapped]) == statement
