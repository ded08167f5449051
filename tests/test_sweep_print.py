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
