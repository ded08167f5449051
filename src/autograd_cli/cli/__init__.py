"""The command line: importing this package registers every command on `app`."""

from autograd_cli.cli import grad, graph, lesson
from autograd_cli.cli.app import app

__all__ = ["app", "grad", "graph", "lesson"]
