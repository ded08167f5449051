"""The command line: `app`, whose command modules are imported only when their command runs."""

from autograd_cli.cli.app import COMMANDS, app

__all__ = ["COMMANDS", "app"]
