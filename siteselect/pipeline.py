"""Orchestration: config -> study -> measurements -> scores -> RunResult.

No printing and no file output here: the CLI reports progress through the
``reporter`` hook and the writers in :mod:`siteselect.outputs` write files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from siteselect._errors import SiteSelectError
from siteselect.config import Config
from siteselect.config.yaml_doc import display_path
from siteselect.criteria.base import REGISTRY, KindSpec, Measurement, named_entry
from siteselect.criteria.buildable import Buildable, buildable_overlay, net_buildable
from siteselect.criteria.cache import CacheError, CriteriaCache, explain, geometry_hash, key_of
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
from siteselect.engine.cluster import measure_on_cluster, on_workers
from siteselect.network.demand_searches import searches_of
from siteselect.outputs.context import context_overlays
from siteselect.outputs.manifest import build_manifest
from siteselect.study import CANDIDATE_COLUMNS, Study, load_study
from siteselect.study.assembly import PARCEL_IDS
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
        self.produced: dict[str, dict[str, Any]] = {}
        """Diagnostics written by the entries measured by :meth:`prefetch`, by key."""

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
            with named_entry(self.study.config, section, name):
                plan(spec, self.study)
        searches_of(self.study).run()

    def pending(self, config: Config) -> list[tuple[str, str, KindSpec]]:
        """The entries not measured yet, one per distinct spec, in run order."""
        seen: set[str] = set(self.cache)
        out = []
        for section, specs in (("constraints", config.constraints), ("criteria", config.criteria)):
            for name, spec in specs.items():
                key = _measurement_key(spec)
                if key not in seen:
                    seen.add(key)
                    out.append((section, name, spec))
        return out

    def prefetch(self, config: Config, engine: EngineOptions) -> list[tuple[str, str, KindSpec]]:
        """Measure the entries left on the engine's cluster, partition by partition.

        Kinds with a ``plan`` are left to :meth:`__call__`: their values come out
        of the shared searches, already computed here for every candidate; so are
        the kinds registered ``partitioned=False`` (see :func:`on_workers`). The
        graph-wide work of the others (their layers, the road graph, their
        ``prepare``) is done here once and broadcast (see :mod:`siteselect.engine`).

        Returns
        -------
        list of (section, name, spec)
            The entries measured.
        """
        entries = [e for e in self.pending(config) if on_workers(REGISTRY[e[2].kind])]
        if not entries:
            return []
        for section, name, spec in entries:
            with named_entry(config, section, name):
                for layer in spec.layer_names():
                    if not self.study.layer_spec(layer).is_raster:
                        self.study.vector(layer)
                if spec.uses_network():
                    self.study.road_graph()
                prepare = REGISTRY[spec.kind].prepare
                if prepare is not None:
                    prepare(spec, self.study)
        measurements, diagnostics = measure_on_cluster(self.study, entries, engine)
        for (section, name, spec), measurement, produced in zip(
            entries, measurements, diagnostics, strict=True
        ):
            with named_entry(config, section, name):
                measurement = measurement.finished(self.study, spec.kind)
            self.cache[_measurement_key(spec)] = measurement
            self.produced[_measurement_key(spec)] = produced
            _merge_diagnostics(self.study.diagnostics, produced)
        return entries

    def __call__(self, section: str, name: str, spec: KindSpec) -> Measurement:
        key = _measurement_key(spec)
        if key not in self.cache:
            handler = REGISTRY[spec.kind]
            with named_entry(self.study.config, section, name):
                measurement = handler.measure(spec, self.study).finished(self.study, spec.kind)
            self.cache[key] = measurement
        return self.cache[key]


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
        study, measure = _study_and_measurer(config, from_cache)
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


def _study_and_measurer(config: Config, from_cache: bool) -> tuple[Study, _CachedMeasurer]:
    """The study (loaded, or from the criteria cache) and the measurer that uses the cache.

    Raises
    ------
    CacheError
        ``from_cache`` and the cache is off or holds no candidates for this config's
        candidates file, filters and CRS setting.
    """
    if not config.cache.enabled:
        if from_cache:
            raise CacheError(
                f"{config.where(('cache', 'enabled'))}: the criteria cache is off "
                "(cache.enabled: false); rescoring needs it: turn it on and run "
                f"'siteselect run {_shown(config)}' first"
            )
        study = load_study(config)
        return study, _CachedMeasurer(study, None, "", {}, "", False)
    cache = CriteriaCache(config)
    components = cache.candidates_components()
    key = key_of(components)
    if from_cache:
        found = cache.load_study(key)
        if found is None:
            before = cache.last_run().get("candidates", {}).get("components")
            raise CacheError(
                f"{_shown(config)}: the criteria cache in {display_path(cache.folder)} has no "
                "candidates for "
                f"this config ({explain(components, before)}); "
                f"run 'siteselect run {_shown(config)}' first"
            )
        study, geometry = found
    else:
        study = load_study(config)
        geometry = geometry_hash(study.candidates)
        cache.store_study(key, study, geometry)
    return study, _CachedMeasurer(study, cache, key, components, geometry, from_cache)


def _shown(config: Config) -> str:
    return config.where(()) if config.source_path is not None else "CONFIG"


class _CachedMeasurer(_Measurer):
    """A :class:`_Measurer` that takes measurements from the criteria cache when their key
    matches and stores those it measures (:mod:`siteselect.criteria.cache`).

    ``only_cached`` (rescore) measures nothing: a missing or stale entry is a
    :class:`CacheError` naming every such entry and what changed.
    """

    def __init__(
        self,
        study: Study,
        store: CriteriaCache | None,
        candidates_key: str,
        candidates_components: dict[str, Any],
        geometry: str,
        only_cached: bool,
    ) -> None:
        super().__init__(study)
        self.store = store
        self.candidates = (candidates_key, candidates_components, geometry)
        self.only_cached = only_cached
        self.keys: dict[str, tuple[str, dict[str, Any]]] = {}
        self.reused: list[str] = []
        self.recomputed: dict[str, str] = {}
        self.plan_diagnostics: dict[str, Any] = {}

    def planned(self, config: Config) -> list[tuple[str, str, KindSpec]]:
        """Load every cached entry first; only the entries left to measure are planned."""
        if self.store is None:
            return super().planned(config)
        last = self.store.last_run().get("entries", {})
        missing: list[str] = []
        loaded: dict[str, tuple[Measurement, dict[str, Any]] | None] = {}
        graph_needed = False
        n = len(self.study.candidates)
        for section, specs in (("constraints", config.constraints), ("criteria", config.criteria)):
            for name, spec in specs.items():
                entry = f"{section}.{name}"
                components = self.store.entry_components(
                    spec, self.candidates[0], self.candidates[2], self.study.crs
                )
                key = key_of(components)
                self.keys[entry] = (key, components)
                if key not in loaded:  # a constraint and a criterion may share one entry
                    loaded[key] = self.store.load_entry(key, n)
                found = loaded[key]
                if found is None:
                    why = explain(components, (last.get(entry) or {}).get("components"))
                    self.recomputed[entry] = why
                    missing.append(f"{entry} ({why})")
                    continue
                measurement, meta = found
                self.cache.setdefault(_measurement_key(spec), measurement)
                _merge_diagnostics(self.study.diagnostics, meta.get("diagnostics") or {})
                self.reused.append(entry)
                graph_needed |= spec.uses_network()
        if missing and self.only_cached:
            shown, folder = _shown(config), display_path(self.store.folder)
            raise CacheError(
                f"{shown}: the criteria cache in {folder} has no up-to-date "
                f"measurement of {'; '.join(missing)}; run 'siteselect run {shown}' first"
            )
        if graph_needed and config.network is not None:
            self.study.road_graph()  # for the map's freeways and run.json, as a full run
        left = super().planned(config)
        return [e for e in left if _measurement_key(e[2]) not in self.cache]

    def plan(self, entries: list[tuple[str, str, KindSpec]]) -> None:
        before = _snapshot(self.study.diagnostics)
        super().plan(entries)
        self.plan_diagnostics = _changed(before, self.study.diagnostics)

    def prefetch(self, config: Config, engine: EngineOptions) -> list[tuple[str, str, KindSpec]]:
        measured = super().prefetch(config, engine)
        if self.store is not None:
            for section, name, spec in measured:
                key, components = self.keys[f"{section}.{name}"]
                self.store.store_entry(
                    key,
                    self.cache[_measurement_key(spec)],
                    {
                        "entry": f"{section}.{name}",
                        "components": components,
                        "diagnostics": self.produced[_measurement_key(spec)],
                    },
                )
        return measured

    def __call__(self, section: str, name: str, spec: KindSpec) -> Measurement:
        if self.store is None or _measurement_key(spec) in self.cache:
            return super().__call__(section, name, spec)
        before = _snapshot(self.study.diagnostics)
        measurement = super().__call__(section, name, spec)
        produced = _changed(before, self.study.diagnostics)
        if REGISTRY[spec.kind].plan is not None:
            produced = {**self.plan_diagnostics, **produced}
        key, components = self.keys[f"{section}.{name}"]
        self.store.store_entry(
            key,
            measurement,
            {"entry": f"{section}.{name}", "components": components, "diagnostics": produced},
        )
        return measurement

    def finish(self) -> None:
        """Record what was reused and measured (log, run.json) and remember this run's keys."""
        if self.store is None:
            return
        self.study.diagnostics["criteria_cache"] = {
            "folder": str(self.store.folder),
            "rescored": self.only_cached,
            "reused": list(self.reused),
            "recomputed": dict(self.recomputed),
        }
        logger.info(
            "criteria cache %s: reused %s; measured %s",
            self.store.folder,
            ", ".join(self.reused) or "nothing",
            "; ".join(f"{e} ({why})" for e, why in self.recomputed.items()) or "nothing",
        )
        if self.only_cached:
            return
        key, components, _ = self.candidates
        self.store.save_run(
            {
                "config": str(self.study.config.source_path),
                "candidates": {"key": key, "components": components},
                "entries": {
                    entry: {"key": k, "components": c} for entry, (k, c) in self.keys.items()
                },
            }
        )


def _snapshot(diagnostics: dict[str, Any]) -> dict[str, str]:
    return {topic: json.dumps(v, default=str) for topic, v in diagnostics.items()}


def _changed(before: dict[str, str], diagnostics: dict[str, Any]) -> dict[str, Any]:
    """The diagnostics topics written since ``before`` (JSON copies)."""
    now = _snapshot(diagnostics)
    return {topic: json.loads(text) for topic, text in now.items() if before.get(topic) != text}


def _merge_diagnostics(diagnostics: dict[str, Any], stored: dict[str, Any]) -> None:
    """Add the diagnostics a cached measurement recorded when it was measured."""
    for topic, value in stored.items():
        current = diagnostics.get(topic)
        if current is None:
            diagnostics[topic] = value
        elif isinstance(current, dict) and isinstance(value, dict):
            for k, v in value.items():
                current.setdefault(k, v)
        elif isinstance(current, list) and isinstance(value, list):
            current.extend(v for v in value if v not in current)


def _as_text(values: np.ndarray) -> Any:
    """Each value as ``str`` (as ``numpy.astype(str)`` gives, without its fixed-width copy:
    1M reasons of 200 characters would take 800 MB)."""
    return pd.Series(values, dtype=object).astype(str).array
