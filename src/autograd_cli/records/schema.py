"""The name and version of the JSON documents the records are written as."""

from __future__ import annotations

SCHEMA = "autograd-cli/2"
