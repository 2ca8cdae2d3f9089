"""Where the tasks run: a local process pool or a Dask cluster, behind one interface.

Both give a :class:`concurrent.futures.Executor`: ``ProcessPoolExecutor`` (spawned
workers, never fork, so it behaves the same on Windows) or the executor of a
``distributed.Client`` (``client.get_executor()``, whose ``submit`` is
``client.submit``). :func:`run_tasks` submits and collects through that interface only,
so the two paths differ in how the executor is made and nothing else.

Polars' threads per worker: ``POLARS_MAX_THREADS`` is set by :func:`init_worker`, the
pool's initializer, which takes effect when polars is not imported yet in the worker.
A spawned worker first re-imports the parent's main module, though (the ``trace-audit``
script imports the ``auditor`` package, which imports polars), so the variable is also
put in the environment the workers are spawned with, for the lifetime of the pool,
after the client's own polars pool has started (it keeps its size).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, as_completed
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.batch.task import AuditConfig, TaskResult, TraceTask

# A pool that breaks (a worker killed by the OS, out of memory...) is replaced and the
# tasks it was running are tried again, this many rounds in all.
MAX_ROUNDS = 3


class RunnerError(Exception):
    """The runner cannot start: Dask missing, the scheduler unreachable (exit code 2)."""


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def init_worker(threads: int) -> None:
    """Process-pool initializer: cap polars' threads before polars is imported."""
    from auditor.batch.task import limit_threads

    limit_threads(threads)


@dataclass
class Runner:
    """Base: a description for the user, the polars threads a task may use, an executor."""

    description: str = ""
    polars_threads: int | None = None

    @contextlib.contextmanager
    def executor(self) -> Iterator[Executor]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    retry_broken: bool = False


class LocalRunner(Runner):
    def __init__(self, jobs: int | None = None) -> None:
        cores = cpu_count()
        self.jobs = max(1, jobs or cores)
        threads = max(1, cores // self.jobs)
        super().__init__(
            description=f"{self.jobs} local worker process{'es' if self.jobs > 1 else ''}, "
            f"{threads} polars thread{'s' if threads > 1 else ''} each",
            polars_threads=threads,
            retry_broken=True,
        )

    @contextlib.contextmanager
    def executor(self) -> Iterator[Executor]:
        with _environment("POLARS_MAX_THREADS", str(self.polars_threads)):
            yield from self._pool()

    def _pool(self) -> Iterator[Executor]:
        pool = ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(self.polars_threads,),
        )
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """``name=value`` in the environment spawned processes inherit, restored afterwards."""
    if "polars" in sys.modules:  # start the client's pool first, at its own size
        sys.modules["polars"].thread_pool_size()
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


class DaskRunner(Runner):
    """Tasks on an existing Dask cluster (``--scheduler tcp://host:8786``) or a given client."""

    def __init__(self, address: str | None = None, client: object | None = None) -> None:
        super().__init__(description=f"Dask scheduler {address or 'client'}")
        self.address = address
        self.client = client

    @contextlib.contextmanager
    def executor(self) -> Iterator[Executor]:
        try:
            from distributed import Client
        except ImportError:
            raise RunnerError(
                "--scheduler needs Dask: pip install 'trace-auditor[dask]' "
                "(or run without --scheduler on a local process pool)"
            ) from None
        own = self.client is None
        if own:
            try:
                client = Client(self.address, timeout="20s", set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise RunnerError(
                    f"--scheduler {self.address}: cannot connect to the Dask scheduler: {exc}"
                ) from None
        else:
            client = self.client
        try:
            workers = len(client.scheduler_info().get("workers", {}))  # type: ignore[attr-defined]
            self.description = (
                f"Dask scheduler {client.scheduler.address} "  # type: ignore[attr-defined]
                f"({workers} worker{'s' if workers != 1 else ''})"
            )
            yield client.get_executor(pure=False)  # type: ignore[attr-defined]
        finally:
            if own:
                client.close()  # type: ignore[attr-defined]


def run_tasks(
    runner: Runner,
    tasks: Iterable[TraceTask],
    config: AuditConfig,
    on_result: Callable[[TaskResult], None],
) -> None:
    """Run every task, calling ``on_result`` in the client as each one finishes.

    ``tasks`` is consumed lazily: the first tasks already run while the client is
    still hashing the later traces. Every task yields exactly one result.
    """
    from auditor.batch.task import error_result, run_task

    pending: Iterable[TraceTask] = tasks
    for round_ in range(1, MAX_ROUNDS + 1):
        broken: list[TraceTask] = []
        with runner.executor() as executor:
            futures: dict[Future[TaskResult], TraceTask] = {}
            for task in pending:
                try:
                    futures[executor.submit(run_task, task, config)] = task
                except BrokenProcessPool:
                    broken.append(task)
            for future in as_completed(futures):
                task = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool as exc:
                    if runner.retry_broken and round_ < MAX_ROUNDS:
                        broken.append(task)
                        continue
                    result = error_result(task, exc)
                    result.summary["error"] = (
                        "internal error: the worker process died while auditing this trace "
                        "(killed, or out of memory)"
                    )
                except Exception as exc:  # a Dask worker lost, a result that did not arrive
                    result = error_result(task, exc)
                on_result(result)
        if not broken:
            return
        pending = broken
