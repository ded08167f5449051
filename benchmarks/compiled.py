"""The package's bytecode, compiled before a start-up is timed, as an installed copy has it.

`pip install` compiles every module it installs, torch's included, so `import torch`
reads bytecode. An editable install from a work tree compiles a module the first time it
is imported, and never when PYTHONDONTWRITEBYTECODE is set, as it is on some development
machines: each timed run then compiled this package from source (about 0.15 s of CPU for
`graph`, 40 modules), which no installed copy pays. Scripts run from this folder import it.
"""

from __future__ import annotations

import compileall
from pathlib import Path

import autograd_cli


def compile_package() -> str:
    """Compile the package's modules (only those whose bytecode is stale); says which."""
    folder = Path(autograd_cli.__file__).parent
    compileall.compile_dir(folder, quiet=1)
    return f"bytecode of {folder} compiled, as pip compiles an installed package"
