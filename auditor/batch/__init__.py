"""Batch auditing: one task per trace on a local process pool or a Dask cluster.

The modules each do one job: :mod:`~auditor.batch.discover` turns PATH|DIR|GLOB|ZIP
arguments into traces (with :mod:`~parsers.archive` reading zip members within
bounds), :mod:`~auditor.batch.task` audits one trace inside a worker,
:mod:`~auditor.batch.runner` runs tasks on a process pool or on Dask behind one
interface, :mod:`~auditor.batch.store` owns the output directory and its incremental
cache, :mod:`~auditor.batch.baseline` compares with an earlier batch,
:mod:`~auditor.batch.index` writes index.html and :mod:`~auditor.batch.run` ties them
together for the ``batch`` command.

Nothing here imports polars at module level except the modules that need it in the
client: a spawned worker imports :mod:`auditor.batch.runner` and
:mod:`auditor.batch.task` first, and must be able to set ``POLARS_MAX_THREADS`` before
polars starts its thread pool.
"""
