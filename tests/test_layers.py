"""The layer rule, read from the source with `ast`: what each package may import and say.

render/ and records/ never import torch (a view or a JSON document must not pay 1.5 s for
it) nor the CLI; the layers below the CLI name their parameters, never the options that
fill them (`errors.param("wrt")`, which the CLI spells `--wrt`); the CLI computes nothing
itself, so it imports torch only inside the functions that call a layer.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "autograd_cli"

#: `--wrt`, `--max-elements`: an option name; `---` rules and ` -- ` dashes are not.
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*\b")

BELOW_CLI = ("records", "build", "expr", "inspection", "program", "batch")
TORCH_FREE = ("render", "records")


def _modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (PACKAGE / package).rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _imported(node: ast.AST) -> Iterator[str]:
    """Every module name an import statement names (`from a.b import c` -> a.b, a.b.c)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
        yield node.module
        yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _imports(tree: ast.AST) -> set[str]:
    return {name for node in ast.walk(tree) for name in _imported(node)}


def _is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring constants: documentation, not words the user is shown."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _option_words(tree: ast.Module) -> list[tuple[int, str]]:
    docstrings = _docstrings(tree)
    return [
        (node.lineno, word)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
        for word in OPTION.findall(node.value)
    ]


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


@pytest.mark.parametrize("path", _modules(*TORCH_FREE), ids=_name)
def test_render_and_records_import_no_torch_and_no_cli(path: Path) -> None:
    imports = _imports(_tree(path))
    assert not {n for n in imports if _is_under(n, "torch")}, "imports torch"
    assert not {n for n in imports if _is_under(n, "autograd_cli.cli")}, "imports the CLI"


@pytest.mark.parametrize("path", _modules(*BELOW_CLI), ids=_name)
def test_layers_below_the_cli_name_no_options_and_import_no_cli(path: Path) -> None:
    tree = _tree(path)
    assert _option_words(tree) == [], "option names belong to the CLI: use errors.param"
    assert not {n for n in _imports(tree) if _is_under(n, "autograd_cli.cli")}


@pytest.mark.parametrize("path", _modules("records"), ids=_name)
def test_records_hold_no_error_types(path: Path) -> None:
    """Records are data: they neither raise the CLI's errors nor hold them."""
    imports = _imports(_tree(path))
    assert not {n for n in imports if _is_under(n, "autograd_cli.errors")}


def _module_level_imports(tree: ast.Module) -> set[str]:
    """What importing the module imports: not inside functions, not under TYPE_CHECKING."""
    found: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        found.update(_imported(node))
        pending.extend(ast.iter_child_nodes(node))
    return found


@pytest.mark.parametrize("path", _modules("cli"), ids=_name)
def test_the_cli_imports_torch_only_where_it_calls_a_layer(path: Path) -> None:
    """What a module imports when it loads is what `--help` pays for: never torch."""
    assert not {n for n in _module_level_imports(_tree(path)) if _is_under(n, "torch")}


def test_the_rule_sees_what_it_forbids() -> None:
    """The checks above would catch a breach: the helpers find each kind in a sample."""
    sample = ast.parse(
        '"""Docstrings may say --wrt."""\n'
        "import torch\n"
        "from autograd_cli.cli.app import report\n"
        "from autograd_cli.errors import UsageError\n"
        'raise UsageError(f"--zero-after {k}: outside", "pick --no-zero")\n'
        'RULE = "--- not an option ---"\n'
    )
    assert sorted(word for _, word in _option_words(sample)) == ["--no-zero", "--zero-after"]
    imports = _imports(sample)
    assert "torch" in imports and "autograd_cli.cli.app" in imports
    assert "autograd_cli.errors" in imports
    lazy = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import torch\n"
        "def f():\n    import torch\n"
        "class C:\n    import torch.nn\n"
    )
    assert _module_level_imports(lazy) == {"typing", "typing.TYPE_CHECKING", "torch.nn"}
