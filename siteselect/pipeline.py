"""Orchestration: config -> study -> measurements -> scores -> RunResult.

No printing and no file output here: the CLI reports progress through the
``reporter`` hook and the writers in :mod:`siteselect.outputs` write files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from siteselect._errors import SiteSelectError
from siteselect.config import Config
from siteselect.criteria.base import KindSpec, Measurement
from siteselect.criteria.buildable import Buildable, buildable_overlay, net_buildable
from siteselect.criteria.overlay import Overlay
from siteselect.decision.aggregation import Aggregation, from_config
from siteselect.decision.exclusions import ExclusionAccount, ExclusionLedger
from siteselect.decision.results import PARTIAL_NOTE, ConstraintInfo, CriterionInfo, RunResult
from siteselect.decision.scoring import (
    WeightedCriterion,
    constraint_failures,
    constraint_raw_columns,
    constraint_reasons,
    join_reasons,
    missing_value_reasons,
    rank,
    score_table,
    weight_shares,
)
from siteselect.decision.sensitivity import Settings, analyse_table
from siteselect.decision.separation import shadowed_by
from siteselect.engine import EngineOptions
from siteselect.measuring import study_and_measurer
from siteselect.outputs.context import context_overlays
from siteselect.outputs.manifest import build_manifest
from siteselect.study import CANDIDATE_COLUMNS, Study
from siteselect.study.assembly import PARCEL_IDS
from siteselect.study.attributes import output_attributes

logger = logging.getLogger(__name__)


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


def run(
    config: Config,
    reporter: Reporter | None = None,
    *,
    from_cache: bool = False,
    engine: EngineOptions | None = None,
) -> RunResult:
    """Score and rank the candidates of ``config``.

    Parameters
    ----------
    config : Config
        A validated configuration (see :func:`siteselect.config.load_config`).
    reporter : Reporter, optional
        Progress hook; default silent.
    from_cache : bool
        Take the candidates and every measurement from the criteria cache and
        measure nothing (``siteselect rescore``); :class:`CacheError` when an
        entry is missing or stale.
    engine : EngineOptions, optional
        Where to measure (default: this process); ``dask`` measures the
        entries partition by partition on a Dask cluster (:mod:`siteselect.engine`).

    Returns
    -------
    RunResult
        Candidate table, criteria and constraint summaries, map overlays, manifest.
    """
    timer = _Timer(reporter or _Quiet())
    with timer.step("load candidates"):
        study, measure = study_and_measurer(config, from_cache)
    planned = measure.planned(config)
    if planned:
        with timer.step("shared demand searches"):
            measure.plan(planned)
    if engine is not None and engine.distributed and not from_cache:
        with timer.step("measure on the dask cluster"):
            measure.prefetch(config, engine)
    n = len(study.candidates)
    overlays: list[Overlay] = []
    reasons: list[np.ndarray] = []
    extra: dict[str, np.ndarray] = {}
    constraint_infos: list[ConstraintInfo] = []
    constraint_values: dict[str, np.ndarray] = {}
    ledger = ExclusionLedger(n, None if config.network is None else config.network.max_snap_m)
    partial = config.buildable.partial_constraints() if config.buildable is not None else []
    partial_measured: dict[str, tuple[KindSpec, Measurement]] = {}
    for name, spec in config.constraints.items():
        with timer.step(f"constraint {name}"):
            measurement = measure("constraints", name, spec)
            lower, upper = spec.bounds()
            reasons.append(constraint_reasons(name, measurement, lower, upper))
            failed = constraint_failures(measurement, lower, upper)
            if name in partial:  # the buildable area takes over (criteria/buildable.py)
                partial_measured[name] = (spec, measurement)
                reasons[-1] = missing_value_reasons(name, measurement)
                failed = np.zeros(n, dtype=bool)
        constraint_values[name] = measurement.values
        overlays.extend(dataclasses.replace(o, group="constraints") for o in measurement.overlays)
        extra.update({f"{name}_{k}": v for k, v in measurement.extra_columns.items()})
        bound_text = ", ".join(
            f"{f} {getattr(spec, f)}" for f in spec.bound_fields if getattr(spec, f) is not None
        )
        description = f"{measurement.label}: {bound_text}"
        if name in partial:
            description += PARTIAL_NOTE
        constraint_infos.append(ConstraintInfo(name, spec.kind, description, int(failed.sum())))
        ledger.constraint(name, description, failed)
        ledger.missing(f"constraints.{name}", measurement)
    buildable = _buildable(config, study, timer, partial_measured)
    if buildable is not None:
        reasons.append(buildable.reasons)
        constraint_infos.append(
            ConstraintInfo(
                "buildable", "buildable", buildable.description, int(buildable.failed.sum())
            )
        )
        ledger.constraint("buildable", buildable.description, buildable.failed)
        extra.update(buildable.columns())
    if PARCEL_IDS in study.candidates.columns:
        extra[PARCEL_IDS] = study.candidates[PARCEL_IDS].to_numpy()
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
    aggregation = _aggregation(config, weighted)
    with timer.step("score and rank"):
        scores = score_table(weighted, n, aggregation=aggregation)
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
                pd.DataFrame(constraint_raw_columns(constraint_values, config.criteria)),
                scores,
            ],
            axis=1,
        )
        table["excluded"] = excluded
        table["exclusion_reason"] = _as_text(exclusion_reason)
        table["rank"] = rank(scores["total_score"].to_numpy(), excluded, ids).array
        table["shadowed_by"] = _separate(study, table["rank"])
        candidates = gpd.GeoDataFrame(
            table, geometry=study.candidates.geometry.to_numpy(), crs=study.crs
        )
    sensitivity = None
    if config.sensitivity.enabled and weighted:
        with timer.step("weight sensitivity"):
            sensitivity = _quick_sensitivity(config, candidates, infos, aggregation)
    if buildable is not None:
        ranks = candidates["rank"].to_numpy(dtype="float64", na_value=np.nan)
        drawn = buildable_overlay(buildable, ids, ranks, study.crs)
        overlays.extend([drawn] if drawn is not None else [])
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
    measure.finish()
    manifest = build_manifest(config, study, counts, timer.seconds)
    manifest["aggregation"] = aggregation.to_json()
    if config.weights is not None and config.weights.result is not None:
        manifest["weights"] = config.weights.result.as_dict()
    if sensitivity is not None:
        manifest["sensitivity"] = sensitivity
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
        sensitivity=sensitivity,
        aggregation=aggregation.to_json(),
    )


def _aggregation(config: Config, weighted: list[WeightedCriterion]) -> Aggregation:
    """The config's aggregation, resolved; the normalised weights logged."""
    if weighted:
        shares = weight_shares([c.weight for c in weighted])
        logger.info(
            "weights (normalised): %s",
            ", ".join(f"{c.name} {s:.3f}" for c, s in zip(weighted, shares, strict=True)),
        )
    return from_config(config.aggregation, len(weighted))


def _quick_sensitivity(
    config: Config,
    candidates: pd.DataFrame,
    infos: list[CriterionInfo],
    aggregation: Aggregation,
) -> dict[str, Any] | None:
    """``RunResult.sensitivity``: the quick check sized by the config's ``sensitivity``."""
    spec = config.sensitivity
    settings = Settings(spec.draws, spec.spread_pct, spec.seed, spec.distribution)
    result = analyse_table(candidates, infos, aggregation, settings)
    if result is None:
        return None
    logger.info("%s", result.statement)
    ranked = candidates[candidates["rank"].notna()]
    if "shadowed_by" in ranked:
        ranked = ranked[ranked["shadowed_by"].fillna("") == ""]
    top_ids = ranked.sort_values("rank")["candidate_id"].head(config.outputs.top_n).tolist()
    return result.contract(config.outputs.top_n, top_ids)


def _buildable(
    config: Config,
    study: Study,
    timer: _Timer,
    partial: dict[str, tuple[KindSpec, Measurement]],
) -> Buildable | None:
    """The net buildable area of every candidate, when the config asks for it."""
    if config.buildable is None:
        return None
    with timer.step("buildable area"):
        try:
            buildable = net_buildable(config.buildable, study, partial)
        except SiteSelectError as exc:
            raise config.locate_any(exc, ("buildable",)) from None
    study.diagnostics["buildable"] = buildable.record()
    return buildable


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


def _as_text(values: np.ndarray) -> Any:
    """Each value as ``str`` (as ``numpy.astype(str)`` gives, without its fixed-width copy:
    1M reasons of 200 characters would take 800 MB)."""
    return pd.Series(values, dtype=object).astype(str).array
