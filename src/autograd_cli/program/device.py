"""Where a program's tensors live: the CPU, a GPU, or PyTorch's meta device.

The device is made torch's default while the program runs (`torch.set_default_device`), so
every tensor and every module's parameters the program creates land there, interpreted or
trusted alike. On `meta` a tensor has a shape and a dtype but no values: the graph, the
module view and the saved bytes of a model far larger than RAM come out in seconds, while
anything that needs values (printing a tensor, `.item()`, gradient figures) cannot work.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from autograd_cli.errors import UsageError, param


class Device(StrEnum):
    cpu = "cpu"
    meta = "meta"
    cuda = "cuda"


def check_device(device: Device) -> None:
    """Refuse a device this machine does not have, before anything runs."""
    if device is Device.cuda:
        import torch

        if not torch.cuda.is_available():
            raise UsageError(
                f"{param('device')} cuda: no CUDA GPU is available here "
                "(or this torch is a CPU build)",
                f"run on {param('device')} cpu, or {param('device')} meta for shapes and memory "
                "without values",
            )


@contextmanager
def default_device(device: Device) -> Iterator[None]:
    """Make `device` torch's default while the program runs, then restore the previous one."""
    import torch

    check_device(device)
    if device is Device.cpu:  # torch's default already; setting it would add a mode to every op
        yield
        return
    before = torch.get_default_device()
    torch.set_default_device(device.value)
    try:
        yield
    finally:
        # None takes torch's device mode away again, where the default was plain cpu
        torch.set_default_device(None if before.type == "cpu" else before)
