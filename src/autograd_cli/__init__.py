"""autograd-cli: see PyTorch's autograd at work, in the terminal or from Python.

`trace`, `to_json`, `to_dot`, `to_mermaid`, `show`, `release`, `record` and `show_steps` (see
`autograd_cli.api`) are loaded
on first use: `import autograd_cli` stays cheap, torch is imported when a graph is traced.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograd_cli.api import (
        GraphRecord,
        record,
        release,
        show,
        show_steps,
        to_dot,
        to_json,
        to_mermaid,
        trace,
    )

__version__ = "0.1.0"
__all__ = [
    "GraphRecord",
    "__version__",
    "record",
    "release",
    "show",
    "show_steps",
    "to_dot",
    "to_json",
    "to_mermaid",
    "trace",
]

_API = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module("autograd_cli.api"), name)
    raise AttributeError(f"module 'autograd_cli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
