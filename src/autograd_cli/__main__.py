from autograd_cli.cli import app

app(prog_name="autograd-cli")
