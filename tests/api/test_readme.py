"""The README's Python API example runs as written.

The code block is our own documentation, executed in a fresh interpreter from the
repository root the way a reader would paste it: not an eval of anyone's input.
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.api.conftest import REPO


def _example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the Python API section has no ```python example"
    return found.group(1)


def test_readme_example_is_five_lines() -> None:
    lines = [line for line in _example().splitlines() if line.strip()]
    assert len(lines) == 5, lines


def test_readme_example_runs_as_written() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _example()],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "halt-radio-left-on" in run.stdout
    assert "→" in run.stdout  # the explanation marks the anchor line
