"""Orchestration: config -> study -> measurements -> scores -> RunResult.

No printing and no file output here: the CLI reports progress through the
``reporter`` hook and the writers in :mod:`siteselect.outputs` write files.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from siteselect._errors import SiteSelectError
from siteselect.config import Config
from siteselect.criteria.base import REGISTRY, KindSpec, Measurement
from siteselect.criteria.overlay import Overlay
from siteselect.decision.exclusions import ExclusionAccount, ExclusionLedger
from siteselect.decision.results import ConstraintInfo, CriterionInfo, RunResult
from siteselect.decision.scoring import (
    WeightedCriterion,
    constraint_failures,
    constraint_reasons,
    join_reasons,
    missing_value_reasons,
    rank,
    score_table,
)
from siteselect.decision.separation import shadowed_by
from siteselect.network.demand_searches import searches_of
from siteselect.outputs.context import context_overlays
from siteselect.outputs.manifest import build_manifest
from siteselect.study import CANDIDATE_COLUMNS, Study, load_study
from siteselect.study.attributes import output_attributes

logger = logging.getLogger(__name__)

_NOT_MEASUREMENT_FIELDS = {"weight", "transform", "label"}


class Reporter(Protocol):
    """Receives progress: the CLI shows it, tests ignore it."""

    def step(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Context manager around one pipeline step."""
        ...


class _Quiet:
    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        yield


class _Timer:
    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        with self.reporter.step(name):
            yield
        self.seconds[name] = round(time.perf_counter() - start, 3)
        logger.info("step %s took %.2f s", name, self.seconds[name])


def _measurement_key(spec: KindSpec) -> str:
    skip = _NOT_MEASUREMENT_FIELDS - set(getattr(spec, "measured_fields", ()))
    fields = {k: v for k, v in spec.model_dump(mode="json").items() if k not in skip}
    for name in spec.bound_fields:
        fields.pop(name, None)
    return repr(sorted(fields.items()))


class _Measurer:
    """Measures each distinct spec once (a constraint and a criterion may share one)."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.cache: dict[str, Measurement] = {}

    def planned(self, config: Config) -> list[tuple[str, str, KindSpec]]:
        """The entries whose kind has a ``plan``, one per distinct spec, in run order."""
        seen: set[str] = set()
        out = []
        for section, specs in (("constraints", config.constraints), ("criteria", config.criteria)):
            for name, spec in specs.items():
                key = _measurement_key(spec)
                if REGISTRY[spec.kind].plan is not None and key not in seen:
                    seen.add(key)
                    out.append((section, name, spec))
        return out

    def plan(self, entries: list[tuple[str, str, KindSpec]]) -> None:
        """Let each entry register its shared work, then run the shared searches."""
        for section, name, spec in entries:
            plan = REGISTRY[spec.kind].plan
            assert plan is not None
            with _named(self.study.config, section, name):
                plan(spec, self.study)
        searches_of(self.study).run()

    def __call__(self, section: str, name: str, spec: KindSpec) -> Measurement:
        key = _measurement_key(spec)
        if key not in self.cache:
            handler = REGISTRY[spec.kind]
            with _named(self.study.config, section, name):
                measurement = handler.measure(spec, self.study)
            if len(measurement.values) != len(self.study.candidates):
                raise RuntimeError(f"{spec.kind} returned {len(measurement.values)} values")
            self.cache[key] = measurement
        return self.cache[key]


@contextlib.contextmanager
def _named(config: Config, section: str, name: str) -> Iterator[None]:
    """Pin an error raised while planning or measuring an entry to its YAML line.

    See :meth:`siteselect.config.Config.locate_any`: a message that names its own
    location (``layers.runways: ...``) keeps it; others get the entry's.
    """
    try:
        yield
    except SiteSelectError as exc:
        raise config.locate_any(exc, (section, name)) from None


def run(config: Config, reporter: Reporter | None = None) -> RunResult:
    """Score and rank the candidates of ``config``.

    Parameters
    ----------
    config : Config
        A validated configuration (see :func:`siteselect.config.load_config`).
    reporter : Reporter, optional
        Progress hook; default silent.

    Returns
    -------
    RunResult
        Candidate table, criteria and constraint summaries, map overlays, manifest.
    """
    timer = _Timer(reporter or _Quiet())
    with timer.step("load candidates"):
        study = load_study(config)
    measure = _Measurer(study)
    planned = measure.planned(config)
    if planned:
        with timer.step("shared demand searches"):
            measure.plan(planned)
    n = len(study.candidates)
    overlays: list[Overlay] = []
    reasons: list[np.ndarray] = []
    extra: dict[str, np.ndarray] = {}
    constraint_infos: list[ConstraintInfo] = []
    ledger = ExclusionLedger(n, None if config.network is None else config.network.max_snap_m)
    for name, spec in config.constraints.items():
        with timer.step(f"constraint {name}"):
            measurement = measure("constraints", name, spec)
            lower, upper = spec.bounds()
            reasons.append(constraint_reasons(name, measurement, lower, upper))
            failed = constraint_failures(measurement, lower, upper)
        overlays.extend(measurement.overlays)
        extra.update({f"{name}_{k}": v for k, v in measurement.extra_columns.items()})
        bound_text = ", ".join(
            f"{f} {getattr(spec, f)}" for f in spec.bound_fields if getattr(spec, f) is not None
        )
        description = f"{measurement.label}: {bound_text}"
        constraint_infos.append(ConstraintInfo(name, spec.kind, description, int(failed.sum())))
        ledger.constraint(name, description, failed)
        ledger.missing(f"constraints.{name}", measurement)
    weighted: list[WeightedCriterion] = []
    infos: list[CriterionInfo] = []
    for name, spec in config.criteria.items():
        with timer.step(f"criterion {name}"):
            measurement = measure("criteria", name, spec)
        assert spec.transform is not None and spec.weight is not None
        weighted.append(WeightedCriterion(name, measurement, spec.transform, spec.weight))
        infos.append(
            CriterionInfo(
                name,
                spec.kind,
                measurement.label,
                measurement.unit,
                spec.weight,
                spec.transform.describe(measurement.unit),
            )
        )
        reasons.append(missing_value_reasons(name, measurement))
        ledger.missing(f"criteria.{name}", measurement)
        extra.update({f"{name}_{k}": v for k, v in measurement.extra_columns.items()})
        for overlay in measurement.overlays:
            if overlay.name not in {o.name for o in overlays}:
                overlays.append(overlay)
    with timer.step("score and rank"):
        scores = score_table(weighted, n)
        exclusion_reason = join_reasons(reasons, n)
        excluded = exclusion_reason != ""
        ids = study.candidates["candidate_id"].to_numpy()
        table = pd.concat(
            [
                study.candidates[list(CANDIDATE_COLUMNS)].reset_index(drop=True),
                study.candidates[
                    output_attributes(study.candidates, config.candidates)
                ].reset_index(drop=True),
                pd.DataFrame(extra),
                scores,
            ],
            axis=1,
        )
        table["excluded"] = excluded
        table["exclusion_reason"] = exclusion_reason.astype(str)
        table["rank"] = rank(scores["total_score"].to_numpy(), excluded, ids).array
        table["shadowed_by"] = _separate(study, table["rank"])
        candidates = gpd.GeoDataFrame(
            table, geometry=study.candidates.geometry.to_numpy(), crs=study.crs
        )
    overlays = context_overlays(study) + overlays
    account = _account(ledger, excluded)
    counts: dict[str, Any] = {
        "candidates": n,
        "excluded": int(excluded.sum()),
        "ranked": int((~excluded).sum()),
        "excluded_by": account.to_json(),
    }
    logger.info("%d candidates, %d excluded, %d ranked", n, counts["excluded"], counts["ranked"])
    logger.info("%s", account.summary())
    manifest = build_manifest(config, study, counts, timer.seconds)
    return RunResult(
        title=config.name,
        crs=study.crs,
        candidates=candidates,
        criteria=infos,
        constraints=constraint_infos,
        overlays=overlays,
        top_n=config.outputs.top_n,
        manifest=manifest,
        exclusions=account,
        csv_max_rows=config.outputs.csv_max_rows,
    )


def _separate(study: Study, ranks: pd.Series) -> np.ndarray:
    """``shadowed_by`` (:mod:`siteselect.decision.separation`), recorded in the diagnostics."""
    outputs = study.config.outputs
    ids = study.candidates["candidate_id"].to_numpy()
    shadow = shadowed_by(
        study.candidates.geometry.to_numpy(), ranks, ids, outputs.min_separation_m, outputs.top_n
    )
    study.diagnostics["separation"] = {
        "min_separation_m": outputs.min_separation_m or 0,
        "shadowed": int((shadow != "").sum()),
    }
    return shadow


def _account(ledger: ExclusionLedger, excluded: np.ndarray) -> ExclusionAccount:
    """The ledger's counts, checked against the candidates actually excluded."""
    if not np.array_equal(ledger.excluded(), excluded):
        raise RuntimeError(
            "exclusion accounting disagrees with the exclusion reasons "
            f"({int(ledger.excluded().sum())} vs {int(excluded.sum())})"
        )
    return ledger.account()
