"""The command line: importing this package registers every command on `app`."""

from autograd_cli.cli import graph, lesson, run
from autograd_cli.cli.app import app

__all__ = ["app", "graph", "lesson", "run"]
