"""The Dask side of the ``dask`` engine: connect, broadcast, map the partitions, gather.

Dask (``dask.distributed``) is an optional dependency: ``pip install
'siteselect[dask]'``. Without ``--scheduler`` a ``LocalCluster`` of worker
processes is started on this machine (one thread each: the cores are the
workers); with ``--scheduler ADDRESS`` the run uses that cluster's workers,
which must be able to read the input files at the same paths (shared or
object storage) and import the same siteselect version.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from siteselect._errors import ConfigError, EngineError
from siteselect.engine.options import EngineOptions
from siteselect.engine.partitions import hilbert_partitions, merge_diagnostics, merge_measurements
from siteselect.engine.worker import Entry, PartitionResult, measure_partition, shell_of

if TYPE_CHECKING:
    from distributed import Client

    from siteselect.criteria.base import KindHandler, Measurement
    from siteselect.study import Study

logger = logging.getLogger(__name__)

INSTALL_HINT = "install it with: pip install 'siteselect[dask]'"

PARTITIONS_IN_FLIGHT_PER_WORKER = 2
"""Partitions on the cluster at once, per worker: one measured, one arriving."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            f"--engine dask: Dask (dask.distributed) is not installed; {INSTALL_HINT}"
        ) from None
    return distributed


@contextlib.contextmanager
def connected(options: EngineOptions) -> Iterator[Client]:
    """A client of ``options.scheduler``, or of a new ``LocalCluster`` (closed on exit).

    Raises
    ------
    EngineError
        The scheduler cannot be reached within ``options.connect_timeout_s``.
    """
    distributed = _distributed()
    cluster = None
    if options.scheduler is not None:
        try:
            client = distributed.Client(
                options.scheduler, timeout=options.connect_timeout_s, set_as_default=False
            )
        except (OSError, TimeoutError) as exc:
            raise EngineError(
                f"--scheduler {options.scheduler}: cannot reach the Dask scheduler "
                f"({type(exc).__name__}: {exc}); check the address (tcp://host:8786) and that "
                "the scheduler is running and reachable from this machine"
            ) from None
    else:
        cluster = distributed.LocalCluster(
            n_workers=options.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: never clash with a running cluster
            silence_logs=logging.CRITICAL,  # a task's error is reported by the run
        )
        client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def measure_on_cluster(
    study: Study, entries: list[Entry], options: EngineOptions
) -> tuple[list[Measurement], list[dict[str, Any]]]:
    """Measure ``entries`` for every candidate, partition by partition on the cluster.

    Returns
    -------
    (measurements, diagnostics)
        Per entry, the measurement of every candidate (study order) and the
        diagnostics its partitions wrote, merged. A summary of the partitions
        (sizes, seconds, peak memory per worker, broadcast time) goes to
        ``study.diagnostics["engine"]``.
    """
    distributed = _distributed()
    n = len(study.candidates)
    phases: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(now - clock, 3)
        clock = now

    with connected(options) as client:
        workers = len(client.scheduler_info().get("workers", {}))
        if workers == 0:
            client.wait_for_workers(1, timeout=options.connect_timeout_s)
            workers = len(client.scheduler_info().get("workers", {}))
        lap("connect or start the cluster")
        check_worker_inputs(client, worker_inputs(study, entries))
        lap("check the workers read the inputs")
        count = options.partition_count(n, workers)
        positions = hilbert_partitions(study.candidates.geometry, count)
        lap("Hilbert partitions")
        shell = client.scatter(shell_of(study), broadcast=True, hash=False)
        lap("broadcast the study")
        logger.info(
            "dask: %d candidates in %d partitions on %d worker(s); study broadcast in %.2f s",
            n,
            len(positions),
            workers,
            phases["broadcast the study"],
        )
        results = _run_partitions(
            distributed,
            client,
            lambda i: study.candidates.iloc[positions[i]],
            len(positions),
            shell,
            entries,
            window=PARTITIONS_IN_FLIGHT_PER_WORKER * workers,
        )
        lap("send, measure and gather the partitions")
    lap("close the cluster")
    measurements = [
        merge_measurements([r.measurements[i] for r in results], positions)
        for i in range(len(entries))
    ]
    diagnostics = [
        merge_diagnostics([r.diagnostics[i] for r in results]) for i in range(len(entries))
    ]
    lap("merge in the candidates' order")
    study.diagnostics["engine"] = _record(options, workers, results, phases, entries)
    return measurements, diagnostics


def on_workers(handler: KindHandler) -> bool:
    """Whether the Dask engine measures this kind on the workers: not the kinds whose
    values come out of the shared searches (``plan``), nor those registered
    ``partitioned=False``."""
    return handler.plan is None and handler.partitioned


def worker_inputs(study: Study, entries: list[Entry]) -> list[str]:
    """Files the workers open themselves: the rasters (read window by window per
    partition); vector layers and the graph reach them in the broadcast study."""
    paths = set()
    for _, _, spec in entries:
        for name in spec.layer_names():
            layer = study.layer_spec(name)
            if layer.is_raster:
                paths.add(str(layer.source))
    return sorted(paths)


def unreadable(paths: list[str]) -> list[str]:
    """The ``paths`` this process cannot open for reading (runs on each worker)."""
    missing = []
    for path in paths:
        try:
            with open(path, "rb") as stream:
                stream.read(1)
        except OSError:
            missing.append(path)
    return missing


def check_worker_inputs(client: Client, paths: list[str]) -> None:
    """Raise when a worker cannot read an input file at the path the client uses.

    Raises
    ------
    EngineError
        Naming the worker, the file and what to do.
    """
    if not paths:
        return
    found = client.run(unreadable, paths)
    for worker, missing in sorted(found.items()):
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise EngineError(
                f"dask: worker {worker} cannot read {missing[0]}{more}; the workers open the "
                "input rasters at the paths the config gives: put the inputs on storage every "
                "worker mounts at the same path (a shared or object-storage mount)"
            )


def _run_partitions(
    distributed: Any,
    client: Client,
    frame_of: Callable[[int], Any],
    count: int,
    shell: Any,
    entries: list[Entry],
    window: int,
) -> list[PartitionResult]:
    """Measure ``count`` partitions, at most ``window`` on the cluster at once.

    Each partition is sent when a slot frees and released when its result is
    back, so a worker holds the broadcast study and a couple of partitions, not
    its share of every candidate. On an error, no further partition is sent, the
    later ones are cancelled, and the first failing partition's error is raised
    (a lost worker as an :class:`EngineError`).
    """
    results: dict[int, PartitionResult] = {}
    failed: dict[int, BaseException] = {}
    running: dict[str, tuple[int, Any, Any]] = {}

    def submit(i: int) -> Any:
        part = client.scatter(frame_of(i), hash=False)
        future = client.submit(measure_partition, part, shell, entries, pure=False)
        running[future.key] = (i, future, part)
        return future

    queue = distributed.as_completed(
        [submit(i) for i in range(min(window, count))], loop=client.loop
    )
    sent = min(window, count)
    for future in queue:
        i, _, part = running.pop(future.key)
        if future.status == "error":
            failed[i] = future.exception()
        elif future.status == "finished":
            results[i] = future.result()
            logger.info(
                "dask: partition %d/%d (%d candidates) measured in %.2f s on %s (peak %.0f MB)",
                i + 1,
                count,
                results[i].candidates,
                results[i].seconds,
                results[i].worker,
                results[i].peak_rss_mb,
            )
        future.release()
        part.release()
        if failed:
            first = min(failed)
            for j, other, _ in list(running.values()):
                if j > first:
                    other.cancel()
        elif sent < count:
            queue.add(submit(sent))
            sent += 1
    if failed:
        i = min(failed)
        exc = failed[i]
        if type(exc).__name__ == "KilledWorker":
            raise EngineError(
                f"dask: the worker measuring partition {i + 1} of {count} "
                f"({len(frame_of(i))} candidates) died (out of memory?); give the workers "
                "more memory or cut the candidates into more --partitions"
            ) from None
        raise exc
    return [results[i] for i in range(count)]


def _record(
    options: EngineOptions,
    workers: int,
    results: list[PartitionResult],
    phases: dict[str, float],
    entries: list[Entry],
) -> dict[str, Any]:
    """run.json ``diagnostics.engine``: the cluster, the partitions and what they cost."""
    by_worker: dict[str, float] = {}
    for r in results:
        by_worker[r.worker] = max(by_worker.get(r.worker, 0.0), r.peak_rss_mb)
    return {
        "name": "dask",
        "scheduler": options.scheduler or "LocalCluster",
        "workers": workers,
        "partitions": len(results),
        "partition_candidates": [r.candidates for r in results],
        "partition_seconds": [round(r.seconds, 3) for r in results],
        "peak_rss_mb_by_worker": {w: round(v, 1) for w, v in sorted(by_worker.items())},
        "broadcast_s": phases["broadcast the study"],
        "client_s": phases,
        "measured_on_workers": [f"{section}.{name}" for section, name, _ in entries],
        "merged": "per-candidate values put back in the candidates' order; diagnostics "
        "merged over partitions (counts summed, largest values and percentiles the "
        "largest partition's)",
    }
