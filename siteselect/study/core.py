"""The study: working CRS, candidates and every named layer, loaded once.

Criteria receive a :class:`Study` and ask it for what they need
(``study.vector("hospitals")``, ``study.road_graph()``); layers are read and
reprojected to the working CRS on first use and cached for the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from siteselect._errors import ConfigError, LayerError
from siteselect.config import CandidatesSpec, Config, LayerSpec
from siteselect.config.land import AssembleSpec
from siteselect.geo import extent_4326, m2_to_acres, to_working, working_crs
from siteselect.network import RoadGraph, load_road_graph
from siteselect.parallel import chunked
from siteselect.study.assembly import assemble_candidates
from siteselect.study.attributes import (
    ATTRIBUTE_PREFIX,
    empty_attributes,
    filter_where,
    keep_attributes,
    source_name,
)
from siteselect.study.coordinates import (
    NEAR_STUDY_M,
    CoordinateError,
    Reference,
    check_near,
    diagnose,
)
from siteselect.study.grid import generate_grid
from siteselect.study.hygiene import REPAIR_METHOD, clean_candidates, source_rows
from siteselect.study.layers import feature_names, read_vector

logger = logging.getLogger(__name__)


@dataclass
class Study:
    """Inputs of one run, in the working CRS.

    Attributes
    ----------
    config : Config
        The validated configuration.
    crs : pyproj.CRS
        Working projected CRS (metres).
    candidates : geopandas.GeoDataFrame
        Candidate sites with ``candidate_id`` and ``area_acres``.
    study_area : geopandas.GeoDataFrame or None
        Study area polygons.
    diagnostics : dict
        What the run found out about its inputs and did about it, by topic
        (``snapping``, ``geometry``, ``airports``...): JSON-serialisable, written
        to run.json under ``diagnostics`` and read by the report. Each module
        that repairs, drops, snaps or filters something records it here.
    """

    config: Config
    crs: pyproj.CRS
    candidates: gpd.GeoDataFrame
    study_area: gpd.GeoDataFrame | None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    _vectors: dict[str, gpd.GeoDataFrame] = field(default_factory=dict, repr=False)
    _graph: RoadGraph | None = field(default=None, repr=False)
    _reference: Reference | None = field(default=None, repr=False)
    shared: dict[str, Any] = field(default_factory=dict, repr=False)
    """Work shared between criteria, by name (e.g. the demand searches of
    :func:`siteselect.network.demand_searches.searches_of`), kept for the run."""

    def layer_spec(self, name: str) -> LayerSpec:
        """The config entry of layer ``name``."""
        try:
            return self.config.layers[name]
        except KeyError:
            raise ConfigError(f"layers: no layer named {name!r}") from None

    def vector(self, name: str) -> gpd.GeoDataFrame:
        """Layer ``name`` read, filtered, repaired and reprojected (cached).

        Raises
        ------
        LayerError
            Coordinates that cannot be right for the layer's CRS, or a layer
            entirely outside the study area (unless ``allow_outside``), with the
            likely cause (:mod:`siteselect.study.coordinates`).
        """
        if name not in self._vectors:
            spec = self.layer_spec(name)
            where = self.config.where(("layers", name))
            try:
                raw = read_vector(
                    spec, f"layers.{name}", diagnostics=self.diagnostics.setdefault("geometry", {})
                )
                frame = to_working(raw, self.crs, f"layers.{name}")
                frame = frame.assign(feature_name=feature_names(frame, spec, name))
            except CoordinateError as exc:
                raise exc.explained(spec, self.reference, where) from None
            except LayerError as exc:
                raise self.config.locate(exc, ("layers", name)) from None
            self._check_near_study(raw, frame, name)
            self._vectors[name] = frame
        return self._vectors[name]

    @property
    def reference(self) -> Reference:
        """Where every layer should lie: the study area, else the candidates' extent."""
        if self._reference is None:
            self._reference = study_reference(self.study_area, self.candidates)
        return self._reference

    def _check_near_study(self, raw: gpd.GeoDataFrame, frame: gpd.GeoDataFrame, name: str) -> None:
        """Raise when layer ``name`` lies entirely outside the study (see ``check_near``).

        A layer that ``allow_outside`` lets lie outside is recorded in
        ``diagnostics["coordinates"]["allowed_outside"]``.
        """
        spec = self.layer_spec(name)
        where = self.config.where(("layers", name))
        if check_near(raw, frame, spec, self.reference, self.crs, where):
            record = self.diagnostics.setdefault("coordinates", {})
            record.setdefault("allowed_outside", []).append(f"layers.{name}")

    @property
    def loaded_road_graph(self) -> RoadGraph | None:
        """The routing graph if a criterion has loaded it, else None (never loads)."""
        return self._graph

    def road_graph(self) -> RoadGraph:
        """The routing graph (read, built or taken from the disk cache on first use)."""
        if self._graph is None:
            spec = self.config.network
            if spec is None:
                raise ConfigError("this criterion needs a 'network:' section in the config")
            area = None if self.study_area is None else self.study_area.geometry.union_all()
            self._graph = load_road_graph(spec, self.crs, area)
            self.diagnostics["network"] = self._graph.diagnostics
            self._check_coverage(self._graph)
        return self._graph

    def _check_coverage(self, graph: RoadGraph) -> None:
        """Raise when no road node lies within the candidates' extent (wrong region)."""
        xmin, ymin, xmax, ymax = self.candidates.total_bounds
        inside = (graph.x >= xmin) & (graph.x <= xmax) & (graph.y >= ymin) & (graph.y <= ymax)
        if not inside.any():
            spec = self.config.network
            name = spec.source.name if spec is not None and spec.source is not None else "network"
            lon0, lat0, lon1, lat1 = self.candidates.to_crs("EPSG:4326").total_bounds
            raise LayerError(
                f"network.source: {name} does not cover the candidates: its roads span "
                f"lon {graph.lon.min():.3f}..{graph.lon.max():.3f}, "
                f"lat {graph.lat.min():.3f}..{graph.lat.max():.3f}, the candidates "
                f"lon {lon0:.3f}..{lon1:.3f}, lat {lat0:.3f}..{lat1:.3f}; "
                "use an extract of the study area"
            )

    def representative_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of a point inside each candidate (working CRS), computed once."""
        cached = self.shared.get("representative_xy")
        if cached is None or len(cached[0]) != len(self.candidates):
            points = chunked(shapely.point_on_surface, self.candidates.geometry.to_numpy())
            cached = self.shared["representative_xy"] = (
                shapely.get_x(points),
                shapely.get_y(points),
            )
        return cached


CANDIDATE_COLUMNS = (
    "candidate_id",
    "area_acres",
    "source_row",
    "geometry_repaired",
    "area_before_repair_acres",
    "duplicate_of",
    "site_name",
)
"""Columns of the candidates that go to the outputs ahead of the criteria's (then the
parcel attributes :func:`siteselect.study.attributes.output_attributes` chooses)."""


def _candidate_ids(frame: gpd.GeoDataFrame, spec: CandidatesSpec) -> pd.Series:
    """The ``id`` column as strings, or ``C<source row>`` (``C000012``) without one."""
    if spec.id is None:
        return pd.Series([f"C{row:06d}" for row in source_rows(frame)], index=frame.index)
    column = f"{ATTRIBUTE_PREFIX}{spec.id}"
    if column not in frame.columns:
        have = [str(c)[len(ATTRIBUTE_PREFIX) :] for c in frame.columns if str(c) != "geometry"]
        raise LayerError(
            f"candidates.id: column {spec.id!r} not in {source_name(spec)} "
            f"(columns: {', '.join(have[:15])})"
        )
    ids = frame[column].astype("string")
    if ids.isna().any():
        rows = source_rows(frame)[ids.isna().to_numpy()]
        raise LayerError(
            f"candidates.id: {int(ids.isna().sum())} candidate(s) have no {spec.id} "
            f"(rows {', '.join(map(str, rows[:5]))}{', ...' if len(rows) > 5 else ''}); "
            "fill them in or omit 'id:'"
        )
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise LayerError(
            f"candidates.id: {spec.id} is not unique (e.g. {duplicated.iloc[0]!r} repeats); "
            f"choose a unique column or omit 'id:'"
        )
    return ids


def load_candidates(
    spec: CandidatesSpec,
    crs_setting: str,
    diagnostics: dict[str, Any] | None = None,
    assemble: AssembleSpec | None = None,
) -> tuple[gpd.GeoDataFrame, pyproj.CRS]:
    """Read the candidates, pick the working CRS, clean the geometries, filter by area.

    The geometry hygiene (:func:`siteselect.study.hygiene.clean_candidates`)
    runs in the working CRS, after the ids are known, so that every message
    names the candidate id and its source row and areas are in acres; its
    record goes to ``diagnostics["candidates"]`` when a dict is given.

    Returns
    -------
    (candidates in the working CRS with :data:`CANDIDATE_COLUMNS`, working CRS)
    """
    if spec.source is None:
        raise ValueError("load_candidates reads a parcel file; a grid is made by load_study")
    reader = spec.model_copy(update={"where": None})  # the condition is applied below
    frame = filter_where(read_vector(reader, "candidates", repair=False), spec)
    frame = keep_attributes(frame, spec)
    present = ~(shapely.is_missing(frame.geometry.to_numpy()) | frame.geometry.is_empty)
    crs = working_crs(crs_setting, extent_4326(frame.geometry[present]))
    frame = to_working(frame, crs, "candidates")
    frame = frame.assign(
        candidate_id=_candidate_ids(frame, spec).to_numpy(), source_row=source_rows(frame)
    )
    frame = frame.sort_values("candidate_id", kind="stable")
    frame, record = clean_candidates(frame, spec.source.name, spec.dedupe)
    if diagnostics is not None:
        diagnostics["candidates"] = record
    if assemble is not None:  # assembled sites join before the area filter (study/assembly.py)
        frame = frame.assign(area_acres=m2_to_acres(frame.geometry.area.to_numpy()))
        frame = assemble_candidates(frame, assemble, spec.max_area_acres, diagnostics)
    frame = _area_filter(frame, spec, spec.source.name)
    return frame, crs


def _area_filter(frame: gpd.GeoDataFrame, spec: CandidatesSpec, name: str) -> gpd.GeoDataFrame:
    """``area_acres`` added, ``min_area_acres``/``max_area_acres`` applied, sorted by id."""
    frame = frame.assign(area_acres=m2_to_acres(frame.geometry.area.to_numpy()))
    before, filtered_from = len(frame), frame
    if spec.min_area_acres is not None:
        frame = frame[frame["area_acres"] >= spec.min_area_acres]
    if spec.max_area_acres is not None:
        frame = frame[frame["area_acres"] <= spec.max_area_acres]
    if len(frame) < before:
        logger.info("candidates: %d of %d within the area limits", len(frame), before)
    if len(frame) == 0:
        areas = m2_to_acres(np.asarray(filtered_from.geometry.area))
        raise LayerError(
            f"candidates: {name}: no candidate left after the area filter "
            f"(min_area_acres={spec.min_area_acres}, max_area_acres={spec.max_area_acres}; "
            f"the candidates measure {areas.min():,.1f} to {areas.max():,.1f} acres); "
            "widen the limits"
        )
    return frame.sort_values("candidate_id", kind="stable").reset_index(drop=True)


def _grid_candidates(study: Study) -> gpd.GeoDataFrame:
    """The generated grid over ``study``'s study area (clipped to its land layers)."""
    spec = study.config.candidates
    grid = spec.grid
    assert grid is not None and study.study_area is not None
    layers = {}
    for key in ("land", "water"):
        name = getattr(grid, key)
        if name is not None:
            layers[key] = study.vector(name).geometry.to_numpy()
    cells = generate_grid(
        shapely.union_all(study.study_area.geometry.to_numpy()),
        grid.cell_m,
        grid.shape,
        land=layers.get("land"),
        water=layers.get("water"),
        min_fraction=grid.min_fraction,
    )
    study.diagnostics["candidates"] = {"grid": cells.record}
    n = len(cells.ids)
    frame = gpd.GeoDataFrame(
        {
            "candidate_id": cells.ids,
            "source_row": np.arange(1, n + 1),
            "geometry_repaired": np.zeros(n, dtype=bool),
            "area_before_repair_acres": np.full(n, np.nan),
            "duplicate_of": np.full(n, "", dtype=object),
            **empty_attributes(n),
        },
        geometry=cells.geometry,
        crs=study.crs,
    )
    return _area_filter(frame, spec, f"{grid.cell_m:g} m grid")


def _load_grid_study(config: Config) -> Study:
    """The study of a generated grid: the study area picks the CRS and bounds the cells."""
    assert config.study_area is not None  # load_config requires it for a grid
    geometry: dict[str, Any] = {"repair_method": REPAIR_METHOD}
    try:
        raw_area = read_vector(config.study_area, "study_area", diagnostics=geometry)
    except LayerError as exc:
        raise config.locate(exc, ("study_area",)) from None
    crs = working_crs(config.crs, raw_area.geometry.to_crs("EPSG:4326"))
    study_area = to_working(raw_area, crs, "study_area")
    empty = gpd.GeoDataFrame({"candidate_id": []}, geometry=[], crs=crs)
    study = Study(config, crs, empty, study_area, diagnostics={"geometry": geometry})
    try:
        study.candidates = _grid_candidates(study)
    except LayerError as exc:
        raise config.locate_any(exc, ("candidates", "grid")) from None
    return study


def study_reference(study_area: gpd.GeoDataFrame | None, candidates: gpd.GeoDataFrame) -> Reference:
    """The region layers must come near: the study area, else the candidates' extent."""
    if study_area is not None:
        return Reference.from_frame(study_area, NEAR_STUDY_M, "the study area")
    return Reference.from_extent(candidates, NEAR_STUDY_M, "the candidates' extent")


def _read_study_area(config: Config) -> gpd.GeoDataFrame | None:
    """The study area as read (own CRS), or None when there is none or it cannot be read."""
    if config.study_area is None:
        return None
    try:
        return read_vector(config.study_area, "study_area")
    except LayerError:
        return None


def _candidates_error(config: Config, exc: CoordinateError) -> LayerError:
    """The candidates' coordinate error, diagnosed against the study area when readable."""
    area = _read_study_area(config)
    reference = None if area is None else Reference.from_frame(area, 0.0, "the study area")
    return exc.explained(config.candidates, reference, config.where(("candidates",)))


def _outside_error(
    config: Config,
    candidates: gpd.GeoDataFrame,
    study_area: gpd.GeoDataFrame,
    raw_area: gpd.GeoDataFrame,
) -> LayerError:
    """No candidate inside the study area: which layer looks misplaced, and how.

    Each layer is tried against the other; when both could be the misplaced
    one, the message says so (the data cannot tell which).
    """
    assert config.study_area is not None
    raw_candidates = read_vector(config.candidates.model_copy(update={"where": None}), "candidates")
    causes = []
    found = diagnose(
        raw_candidates, config.candidates, Reference.from_frame(raw_area, 0.0, "the study area")
    )
    if found is not None:
        causes.append(f"the candidates: {found}")
    found = diagnose(
        raw_area,
        config.study_area,
        Reference.from_extent(raw_candidates, NEAR_STUDY_M, "the candidates' extent"),
    )
    if found is not None:
        causes.append(f"the study area: {found}")
    cause = "either " + " or ".join(causes) if len(causes) > 1 else "".join(causes)
    cause = cause or "check both layers' CRS"
    lon0, lat0, lon1, lat1 = candidates.geometry.to_crs("EPSG:4326").total_bounds
    w, s, e, n = raw_area.geometry.to_crs("EPSG:4326").total_bounds
    return config.error(
        ("candidates",),
        f"{config.candidates.source.name}: none of the {len(candidates)} candidates lies "
        f"inside the study area {config.study_area.source.name} (candidates lon "
        f"{lon0:.3f}..{lon1:.3f}, lat {lat0:.3f}..{lat1:.3f}; study area lon "
        f"{w:.3f}..{e:.3f}, lat {s:.3f}..{n:.3f}); {cause}",
        LayerError,
    )


def load_study(config: Config) -> Study:
    """Read the candidates and study area; everything else loads lazily.

    Raises
    ------
    LayerError
        Coordinates that cannot be right, or no candidate inside the study
        area, with the likely cause.
    """
    if config.candidates.grid is not None:
        return _load_grid_study(config)
    geometry: dict[str, Any] = {"repair_method": REPAIR_METHOD}
    try:
        candidates, crs = load_candidates(config.candidates, config.crs, geometry, config.assemble)
    except CoordinateError as exc:
        raise _candidates_error(config, exc) from None
    except LayerError as exc:
        raise config.locate_any(exc, ("candidates",)) from None
    study_area = None
    if config.study_area is not None:
        try:
            raw_area = read_vector(config.study_area, "study_area", diagnostics=geometry)
        except CoordinateError as exc:
            reference = Reference.from_extent(candidates, NEAR_STUDY_M, "the candidates' extent")
            raise exc.explained(
                config.study_area, reference, config.where(("study_area",))
            ) from None
        except LayerError as exc:
            raise config.locate(exc, ("study_area",)) from None
        study_area = to_working(raw_area, crs, "study_area")
        inside = candidates.geometry.intersects(study_area.geometry.union_all())
        if not inside.any():
            raise _outside_error(config, candidates, study_area, raw_area)
        if (~inside).any():
            logger.info("candidates: %d outside the study area dropped", int((~inside).sum()))
            candidates = candidates[inside.to_numpy()].reset_index(drop=True)
    return Study(
        config=config,
        crs=crs,
        candidates=candidates,
        study_area=study_area,
        diagnostics={"geometry": geometry, **_assembly_record(geometry)},
    )


def _assembly_record(geometry: dict[str, Any]) -> dict[str, Any]:
    """``{"assembly": record}`` moved out of the geometry record (empty without assembly)."""
    return {"assembly": geometry.pop("assembly")} if "assembly" in geometry else {}
