"""Measuring the config's entries: each distinct spec once, through the criteria cache,
in this process or on the engine's cluster.

:class:`Measurer` measures each distinct spec once (a constraint and a criterion
may share one) and finishes it on the whole set of candidates
(:meth:`siteselect.criteria.base.Measurement.finished`); :meth:`Measurer.prefetch`
measures the entries left on a Dask cluster (:mod:`siteselect.engine`).
:class:`CachedMeasurer` takes what the criteria cache holds and stores what it
measures (:mod:`siteselect.criteria.cache`). Used by :mod:`siteselect.pipeline`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from siteselect.config import Config
from siteselect.config.yaml_doc import display_path
from siteselect.criteria.base import REGISTRY, KindSpec, Measurement, named_entry
from siteselect.criteria.cache import CacheError, CriteriaCache, explain, geometry_hash, key_of
from siteselect.engine import EngineOptions
from siteselect.engine.cluster import measure_on_cluster, on_workers
from siteselect.network.demand_searches import searches_of
from siteselect.study import Study, load_study

logger = logging.getLogger(__name__)

_NOT_MEASUREMENT_FIELDS = {"weight", "transform", "label"}


def measurement_key(spec: KindSpec) -> str:
    skip = _NOT_MEASUREMENT_FIELDS - set(getattr(spec, "measured_fields", ()))
    fields = {k: v for k, v in spec.model_dump(mode="json").items() if k not in skip}
    for name in spec.bound_fields:
        fields.pop(name, None)
    return repr(sorted(fields.items()))


class Measurer:
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
                key = measurement_key(spec)
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
                key = measurement_key(spec)
                if key not in seen:
                    seen.add(key)
                    out.append((section, name, spec))
        return out

    def workers_entries(self, config: Config) -> list[tuple[str, str, KindSpec]]:
        """The entries left that the Dask engine measures on its workers (:func:`on_workers`)."""
        return [e for e in self.pending(config) if on_workers(REGISTRY[e[2].kind])]

    def prepare_shared(self, config: Config, entries: list[tuple[str, str, KindSpec]]) -> None:
        """What the partitions of ``entries`` share, done once here to be broadcast: their
        vector layers, the road graph, each kind's ``prepare``."""
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
        entries = self.workers_entries(config)
        if not entries:
            logger.info("dask: nothing to measure on the cluster (criteria cache); none started")
            return []
        self.prepare_shared(config, entries)
        measurements, diagnostics = measure_on_cluster(self.study, entries, engine)
        for (section, name, spec), measurement, produced in zip(
            entries, measurements, diagnostics, strict=True
        ):
            with named_entry(config, section, name):
                measurement = measurement.finished(self.study, spec.kind)
            self.cache[measurement_key(spec)] = measurement
            self.produced[measurement_key(spec)] = produced
            _merge_diagnostics(self.study.diagnostics, produced)
        return entries

    def __call__(self, section: str, name: str, spec: KindSpec) -> Measurement:
        key = measurement_key(spec)
        if key not in self.cache:
            handler = REGISTRY[spec.kind]
            with named_entry(self.study.config, section, name):
                measurement = handler.measure(spec, self.study).finished(self.study, spec.kind)
            self.cache[key] = measurement
        return self.cache[key]


def study_and_measurer(config: Config, from_cache: bool) -> tuple[Study, CachedMeasurer]:
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
        return study, CachedMeasurer(study, None, "", {}, "", False)
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
    return study, CachedMeasurer(study, cache, key, components, geometry, from_cache)


def _shown(config: Config) -> str:
    return config.where(()) if config.source_path is not None else "CONFIG"


class CachedMeasurer(Measurer):
    """A :class:`Measurer` that takes measurements from the criteria cache when their key
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
                self.cache.setdefault(measurement_key(spec), measurement)
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
        return [e for e in left if measurement_key(e[2]) not in self.cache]

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
                    self.cache[measurement_key(spec)],
                    {
                        "entry": f"{section}.{name}",
                        "components": components,
                        "diagnostics": self.produced[measurement_key(spec)],
                    },
                )
        return measured

    def __call__(self, section: str, name: str, spec: KindSpec) -> Measurement:
        if self.store is None or measurement_key(spec) in self.cache:
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
