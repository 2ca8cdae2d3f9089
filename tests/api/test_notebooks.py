"""The notebooks run top to bottom: a cell that raises fails the test.

They are executed with nbclient on an ipykernel started from this interpreter (the
venv's, with the dev extras), whatever kernels the machine has registered: a kernelspec
written to a temporary directory points at ``sys.executable``. Each notebook runs from
its own directory and from the repository root, the two places a user starts Jupyter.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from tests.api.conftest import REPO

NOTEBOOKS = REPO / "notebooks"
NAMES = ["investigate-field-log.ipynb", "lab-batch-overview.ipynb"]
CELL_TIMEOUT = 120  # seconds per cell


def _kernel(tmp_path: Path) -> KernelManager:
    spec_dir = tmp_path / "kernels" / "trace-auditor-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "trace-auditor (test)",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name="trace-auditor-test", kernel_spec_manager=specs)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("cwd", ["notebooks", "repo-root"])
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name: str, cwd: str, tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    where = NOTEBOOKS if cwd == "notebooks" else REPO
    client = NotebookClient(
        nb,
        km=_kernel(tmp_path),
        timeout=CELL_TIMEOUT,
        allow_errors=False,  # the first failing cell raises CellExecutionError
        resources={"metadata": {"path": str(where)}},
    )
    client.execute()
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in ran)
    errors = [o for c in ran for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
