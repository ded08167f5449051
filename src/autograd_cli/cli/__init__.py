"""The command line: importing this package registers every command on `app`."""

from autograd_cli.cli import accumulate, grad, graph, lesson, modes, run
from autograd_cli.cli.app import app

__all__ = ["accumulate", "app", "grad", "graph", "lesson", "modes", "run"]
