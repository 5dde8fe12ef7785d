"""What runs on a Dask worker: one partition of the candidates, measured.

Nothing here imports Dask: :func:`measure_partition` is a plain function of
picklable arguments (the broadcast study shell, a partition of the
candidates, the entries to measure), so it can be tested, and run, without a
cluster.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd

from siteselect.config.model import ensure_kinds
from siteselect.criteria.base import REGISTRY, KindSpec, Measurement, named_entry
from siteselect.network import RoadGraph
from siteselect.study import Study

Entry = tuple[str, str, KindSpec]
"""(section, name, spec): one entry of the config to measure."""

NOT_BROADCAST = ("demand_searches", "representative_xy")
"""``study.shared`` entries a partition must not receive: the demand searches (their
reducers are closures, and their kinds are read on the client) and the
candidates' own representative points."""


@dataclass
class PartitionResult:
    """A partition's measurements (in the order of the entries) and what it cost.

    Attributes
    ----------
    measurements : list of Measurement
        One per entry, for the partition's candidates.
    diagnostics : list of dict
        Per entry, the diagnostics topics it wrote (JSON values).
    candidates : int
        Candidates in the partition.
    seconds : float
        Wall time of the measurements on the worker.
    peak_rss_mb : float
        The worker process's peak resident memory so far (MB).
    worker : str
        Which worker (host:pid).
    """

    measurements: list[Measurement]
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    candidates: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    worker: str = ""


class NotBroadcast:
    """Stands in for a large attribute the workers do not receive: any use is an error
    naming it (rather than a silently empty value)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def _refuse(self) -> RuntimeError:
        what = self.__dict__.get("what", "this attribute")
        return RuntimeError(
            f"{what} is not broadcast to the Dask workers; compute what needs it in the "
            "kind's prepare (see siteselect.criteria.base.register)"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise self._refuse()

    def __getitem__(self, key: object) -> Any:
        raise self._refuse()

    def __len__(self) -> int:
        raise self._refuse()


def _graph_for_partitions(graph: RoadGraph) -> RoadGraph:
    """The road graph as the partitions need it: nodes, matrix, reach masks and snapping
    trees, without the edge table (half the graph's bytes: only ``prepare`` and the
    map use it, on the client) nor the search contractions."""
    graph.routable("depart")  # the reach masks: graph-wide, computed once here
    return dataclasses.replace(
        graph,
        edges=NotBroadcast("road_graph.edges"),  # type: ignore[arg-type]
        _reverse=None,
        contractions={},
    )


def shell_of(study: Study) -> Study:
    """The study without its candidates: what every partition shares (broadcast once).

    The layers already read, the road graph (without its edge table) and the
    candidate-independent results of ``prepare`` travel with it; the reference
    region is computed first, as it comes from the whole set of candidates.
    """
    study.reference  # noqa: B018 (computed now from every candidate, kept in the shell)
    graph = study.loaded_road_graph
    return dataclasses.replace(
        study,
        candidates=study.candidates.iloc[:0],
        shared={k: v for k, v in study.shared.items() if k not in NOT_BROADCAST},
        _graph=None if graph is None else _graph_for_partitions(graph),
    )


def _snapshot(diagnostics: dict[str, Any]) -> dict[str, str]:
    return {topic: json.dumps(v, default=str, sort_keys=True) for topic, v in diagnostics.items()}


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    Linux: ``VmHWM`` (the high-water mark of this process's own memory; not
    ``ru_maxrss``, which a worker inherits from the large process that started
    it); elsewhere ``ru_maxrss`` (KB on Linux and BSD, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def measure_partition(
    candidates: gpd.GeoDataFrame, shell: Study, entries: list[Entry]
) -> PartitionResult:
    """Measure ``entries`` for one partition of the candidates.

    Parameters
    ----------
    candidates : geopandas.GeoDataFrame
        The partition's candidates (working CRS), with the study's columns.
    shell : Study
        The broadcast study (:func:`shell_of`); not modified.
    entries : list of (section, name, spec)
        The entries to measure, each kind without a ``plan``.

    Returns
    -------
    PartitionResult
    """
    ensure_kinds()  # a fresh worker process: register the kinds (and plug-ins)
    start = time.perf_counter()
    study = dataclasses.replace(
        shell,
        candidates=candidates.reset_index(drop=True),
        diagnostics=json.loads(json.dumps(shell.diagnostics, default=str)),
        _vectors=dict(shell._vectors),
        shared=dict(shell.shared),
    )
    measurements, diagnostics = [], []
    for section, name, spec in entries:
        before = _snapshot(study.diagnostics)
        with named_entry(study.config, section, name):
            measurement = REGISTRY[spec.kind].measure(spec, study)
        if len(measurement.values) != len(candidates):
            raise RuntimeError(f"{spec.kind} returned {len(measurement.values)} values")
        measurements.append(measurement)
        now = _snapshot(study.diagnostics)
        diagnostics.append(
            {t: study.diagnostics[t] for t, text in now.items() if before.get(t) != text}
        )
    return PartitionResult(
        measurements=measurements,
        diagnostics=json.loads(json.dumps(diagnostics, default=str)),
        candidates=len(candidates),
        seconds=time.perf_counter() - start,
        peak_rss_mb=peak_rss_mb(),
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )
