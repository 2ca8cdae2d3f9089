"""Shared fixtures for the parser tests: write input bytes to a temporary file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REAL_TRACES = Path("/work/shared/real-traces")


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(name, content, encoding="utf-8")``: bytes are written as given, str encoded."""

    def _write(name: str, content: bytes | str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        data = content if isinstance(content, bytes) else content.encode(encoding)
        path.write_bytes(data)
        return path

    return _write


@pytest.fixture
def real_traces() -> Path:
    """The read-only real-world traces shared by the project."""
    return REAL_TRACES
