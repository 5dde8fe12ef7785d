"""The engine a run uses, as the command line gives it."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Literal

from siteselect._errors import ConfigError

ENGINES = ("local", "dask")
EngineName = Literal["local", "dask"]

CANDIDATES_PER_PARTITION = 100_000
"""Default partition size: large enough that a partition's fixed cost (reading its
raster windows, building its indexes) is small beside its work, small enough to
keep a worker's memory near a few hundred MB above the broadcast inputs."""


@dataclass(frozen=True)
class EngineOptions:
    """How to measure: ``local``, or ``dask`` with its cluster and partitions.

    Attributes
    ----------
    name : {"local", "dask"}
        The engine.
    scheduler : str or None
        Address of a running Dask scheduler (``tcp://10.0.0.5:8786``); None
        starts a ``LocalCluster`` on this machine.
    workers : int or None
        Workers of the ``LocalCluster`` (default: one per CPU); ignored with a
        scheduler, whose workers are what the cluster has.
    partitions : int or None
        Number of partitions of the candidates (default: at least two per worker,
        and at most :data:`CANDIDATES_PER_PARTITION` candidates each).
    connect_timeout_s : float
        How long to wait for the scheduler.
    """

    name: EngineName = "local"
    scheduler: str | None = None
    workers: int | None = None
    partitions: int | None = None
    connect_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise ConfigError(f"--engine: {self.name!r} is not one of {', '.join(ENGINES)}")
        if self.name == "local":
            given = [
                f"--{flag}"
                for flag, value in (
                    ("scheduler", self.scheduler),
                    ("workers", self.workers),
                    ("partitions", self.partitions),
                )
                if value is not None
            ]
            if given:
                raise ConfigError(f"{', '.join(given)}: only with --engine dask")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"--workers: {self.workers} is not a number of workers (>= 1)")
        if self.partitions is not None and self.partitions < 1:
            raise ConfigError(f"--partitions: {self.partitions} must be at least 1")
        if self.scheduler is not None and self.workers is not None:
            raise ConfigError(
                "--workers: sets the size of the local cluster; with --scheduler the "
                "cluster's own workers are used"
            )

    def require(self) -> None:
        """Raise now (before any work) when the engine's package is not installed."""
        if self.distributed and importlib.util.find_spec("distributed") is None:
            raise ConfigError(
                "--engine dask: Dask (dask.distributed) is not installed; install it with: "
                "pip install 'siteselect[dask]'"
            )

    @property
    def distributed(self) -> bool:
        """Whether the measurements run on a Dask cluster."""
        return self.name == "dask"

    def partition_count(self, candidates: int, workers: int) -> int:
        """The partitions to cut ``candidates`` into for ``workers`` workers."""
        if self.partitions is not None:
            return max(1, min(self.partitions, candidates))
        by_size = -(-candidates // CANDIDATES_PER_PARTITION)
        return max(1, min(candidates, max(2 * workers, by_size)))
