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
from siteselect.demand_searches import DemandSearches
from siteselect.geo import m2_to_acres, to_working, working_crs
from siteselect.layers import feature_names, read_vector
from siteselect.network import RoadGraph, load_road_graph

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
    _searches: DemandSearches | None = field(default=None, repr=False)

    @property
    def searches(self) -> DemandSearches:
        """The run's shared demand searches (see :mod:`siteselect.demand_searches`)."""
        if self._searches is None:
            self._searches = DemandSearches(self.diagnostics)
        return self._searches

    def layer_spec(self, name: str) -> LayerSpec:
        """The config entry of layer ``name``."""
        try:
            return self.config.layers[name]
        except KeyError:
            raise ConfigError(f"layers: no layer named {name!r}") from None

    def vector(self, name: str) -> gpd.GeoDataFrame:
        """Layer ``name`` read, filtered, repaired and reprojected (cached)."""
        if name not in self._vectors:
            spec = self.layer_spec(name)
            frame = read_vector(spec, f"layers.{name}")
            frame = to_working(frame, self.crs, f"layers.{name}")
            frame = frame.assign(feature_name=feature_names(frame, spec, name))
            self._warn_if_outside(frame, name)
            self._vectors[name] = frame
        return self._vectors[name]

    def _warn_if_outside(self, frame: gpd.GeoDataFrame, name: str) -> None:
        if self.study_area is None:
            return
        area = self.study_area.geometry.union_all()
        if not shapely.intersects(shapely.box(*frame.total_bounds), area):
            logger.warning("layers.%s lies entirely outside the study area: check its CRS", name)

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
        """Coordinates of a point inside each candidate (working CRS)."""
        points = shapely.point_on_surface(self.candidates.geometry.to_numpy())
        return shapely.get_x(points), shapely.get_y(points)


def _candidate_ids(frame: gpd.GeoDataFrame, spec: CandidatesSpec) -> pd.Series:
    if spec.id is None:
        return pd.Series([f"C{i + 1:06d}" for i in range(len(frame))], index=frame.index)
    if spec.id not in frame.columns:
        raise LayerError(
            f"candidates.id: column {spec.id!r} not in {spec.source.name} "
            f"(columns: {', '.join(map(str, frame.columns[:15]))})"
        )
    ids = frame[spec.id].astype("string")
    if ids.isna().any():
        raise LayerError(f"candidates.id: {int(ids.isna().sum())} candidate(s) have no {spec.id}")
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        raise LayerError(
            f"candidates.id: {spec.id} is not unique (e.g. {duplicated.iloc[0]!r} repeats); "
            f"choose a unique column or omit 'id:'"
        )
    return ids


def load_candidates(spec: CandidatesSpec, crs_setting: str) -> tuple[gpd.GeoDataFrame, pyproj.CRS]:
    """Read the candidates, pick the working CRS, filter by area.

    Returns
    -------
    (candidates in the working CRS with candidate_id and area_acres, working CRS)
    """
    frame = read_vector(spec, "candidates")
    crs = working_crs(crs_setting, frame.geometry.to_crs("EPSG:4326"))
    frame = to_working(frame, crs, "candidates")
    frame = frame.assign(
        candidate_id=_candidate_ids(frame, spec).to_numpy(),
        area_acres=m2_to_acres(frame.geometry.area.to_numpy()),
    )
    before = len(frame)
    if spec.min_area_acres is not None:
        frame = frame[frame["area_acres"] >= spec.min_area_acres]
    if spec.max_area_acres is not None:
        frame = frame[frame["area_acres"] <= spec.max_area_acres]
    if len(frame) < before:
        logger.info("candidates: %d of %d within the area limits", len(frame), before)
    if len(frame) == 0:
        raise LayerError(
            f"candidates: no candidate left after the area filter "
            f"(min_area_acres={spec.min_area_acres}, max_area_acres={spec.max_area_acres})"
        )
    frame = frame.sort_values("candidate_id", kind="stable").reset_index(drop=True)
    return frame, crs


def load_study(config: Config) -> Study:
    """Read the candidates and study area; everything else loads lazily."""
    candidates, crs = load_candidates(config.candidates, config.crs)
    study_area = None
    if config.study_area is not None:
        study_area = to_working(read_vector(config.study_area, "study_area"), crs, "study_area")
        inside = candidates.geometry.intersects(study_area.geometry.union_all())
        if not inside.any():
            raise LayerError("candidates: none lies inside the study area; check both layers' CRS")
        if (~inside).any():
            logger.info("candidates: %d outside the study area dropped", int((~inside).sum()))
            candidates = candidates[inside.to_numpy()].reset_index(drop=True)
    return Study(config=config, crs=crs, candidates=candidates, study_area=study_area)
