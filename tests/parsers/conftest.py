"""Shared fixtures for the parser tests: write input bytes to a temporary file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

# shared/ sits beside the checkout, wherever that is (CI clones it afresh).
REAL_TRACES = Path(__file__).resolve().parents[3] / "shared" / "real-traces"


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


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder per module for hypothesis tests, which run many examples per test."""
    return tmp_path_factory.mktemp("work")
