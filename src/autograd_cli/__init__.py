"""autograd-cli: see PyTorch's autograd at work, in the terminal or from Python."""

__version__ = "0.1.0"
