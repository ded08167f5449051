"""The command line: importing this package registers every command on `app`."""

from autograd_cli.cli import accumulate, backward, grad, graph, lesson, modes, run, step, why
from autograd_cli.cli.app import app

__all__ = [
    "accumulate",
    "app",
    "backward",
    "grad",
    "graph",
    "lesson",
    "modes",
    "run",
    "step",
    "why",
]
