"""The configuration's pydantic models: every section of the YAML, validated.

:class:`Config` holds a complete run; each section is its own model
(``LayerSpec``, ``CandidatesSpec``, ``NetworkSpec``, ``OutputsSpec``...), every
one forbidding unknown keys and resolving paths relative to the config file.
The criteria and constraints are typed by the union of the registered kinds,
completed by :func:`ensure_kinds`. Loading and the checks pydantic cannot
express live in :mod:`siteselect.config.load`.
"""

from __future__ import annotations

import codecs
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)

from siteselect._errors import ConfigError, SiteSelectError
from siteselect.config.aggregation import AggregationSpec, SensitivitySpec
from siteselect.config.bands import BandRef
from siteselect.config.candidates import GridSpec, check_condition
from siteselect.config.crs import parse_working_crs
from siteselect.config.kinds import KindSpec, load_kinds
from siteselect.config.land import AssembleSpec, BuildableSpec
from siteselect.config.weights import WeightsSpec
from siteselect.config.yaml_doc import PathKey, YamlDocument, display_path, dotted_loc
from siteselect.units import validate_unit

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # at run time, resolved by ensure_kinds() once the kinds are registered
    AnyKind = KindSpec


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    value = value.expanduser()
    if base is not None and not value.is_absolute():
        value = Path(base) / value
    return Path(os.path.normpath(value))


ResolvedPath = Annotated[Path, AfterValidator(_resolve_path)]
"""A path, made absolute relative to the config file's folder."""

AttributeFilter = dict[str, str | int | float | bool | list[str | int | float | bool]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _known_encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(
            f"unknown encoding {value!r}; use a Python codec name such as latin1, cp1252, utf-8"
        ) from None
    return value


class LayerSpec(_Model):
    """One input layer: a vector file (any pyogrio format) or a raster (GeoTIFF...).

    A plain string in the YAML is shorthand for ``{source: <string>}``.
    """

    source: ResolvedPath = Field(description="File path, relative to the config file.")
    layer: str | None = Field(default=None, description="Layer inside a multi-layer file (gpkg).")
    crs: str | None = Field(
        default=None,
        description="CRS of a file that has none (CSV coordinates default to EPSG:4326).",
    )
    x: str | None = Field(default=None, description="CSV: longitude/x column.")
    y: str | None = Field(default=None, description="CSV: latitude/y column.")
    units: Annotated[str | None, AfterValidator(validate_unit)] = Field(
        default=None,
        description="Raster: unit of the values (g, %g, cm/s2, m/s2, m/s, cm/s, km/s, m, ft, "
        "%, degrees, 1...); default: the unit the file declares.",
    )
    band: BandRef = Field(
        default=1, description="Raster: 1-based band index or band name (description)."
    )
    allow_outside: bool = Field(
        default=False,
        description="The layer may lie outside the study area, or hold coordinates that "
        "look wrong for its CRS (skips those checks).",
    )
    name_column: str | None = Field(
        default=None, description="Column naming features in reasons and tooltips."
    )
    where: AttributeFilter | None = Field(
        default=None,
        description="Keep features whose column equals the value (or one of the listed values).",
    )
    encoding: Annotated[str, AfterValidator(_known_encoding)] | None = Field(
        default=None,
        description="Text encoding of the attributes (e.g. latin1, cp1252); default: what "
        "GDAL detects (.cpg, .dbf header), else UTF-8.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"source": data} if isinstance(data, str) else data

    @property
    def is_raster(self) -> bool:
        """Whether the source is a raster file (by extension)."""
        return self.source.suffix.lower() in RASTER_SUFFIXES


RASTER_SUFFIXES = frozenset({".tif", ".tiff", ".vrt", ".img", ".asc", ".nc", ".jp2"})


class CandidatesSpec(LayerSpec):
    """The candidate sites: polygons (parcels) or points from a file, or a generated grid."""

    source: ResolvedPath | None = Field(  # type: ignore[assignment]
        default=None, description="Parcel file, relative to the config file (or 'grid:')."
    )
    grid: GridSpec | None = Field(
        default=None,
        description="Generate the candidates: {cell_m: 250, shape: square|hex, land:, water:} "
        "(needs 'study_area:'); instead of 'source'.",
    )
    where: Annotated[str | AttributeFilter | None, AfterValidator(check_condition)] = Field(
        default=None,
        description="Keep the parcels where this condition holds, e.g. \"land_use in ('VACANT', "
        "'AGRICULTURAL') and assessed_usd / acres < 2000000\" (comparisons, and/or/not, "
        "in (...), arithmetic), or {column: value(s)}.",
    )
    attributes: Literal["all", "none"] | list[str] = Field(
        default="all",
        description="Parcel columns carried to every output as attr_<column>: all, none, "
        "or a list of column names.",
    )
    id: str | None = Field(
        default=None,
        description="Unique id column; default: the source row number, C000001...",
    )
    min_area_acres: float | None = Field(default=None, ge=0, description="Drop smaller parcels.")
    max_area_acres: float | None = Field(default=None, gt=0, description="Drop larger parcels.")
    dedupe: bool = Field(
        default=False,
        description="Keep one candidate (the first by id) of each set with exactly the same "
        "geometry; the dropped ids go to run.json. Duplicates are reported either way.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> CandidatesSpec:
        if (self.source is None) == (self.grid is None):
            raise ValueError(
                "set either 'source' (a parcel file) or 'grid' (e.g. grid: {cell_m: 250})"
            )
        if self.grid is not None:
            given = [
                key
                for key in ("layer", "x", "y", "where", "id", "name_column", "encoding", "crs")
                if getattr(self, key) is not None
            ]
            if self.attributes not in ("all", "none"):
                given.append("attributes")
            if given:
                raise ValueError(
                    f"{', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to a parcel "
                    "file, not to a grid"
                )
        return self


class NetworkSpec(_Model):
    """The road network: a file (.osm, .osm.bz2, .osm.pbf, .graphml) or an osmnx download.

    Exactly one of ``source`` (a file), ``place`` (an osmnx place query) or
    ``polygon_from_study_area: true`` chooses the input. For a download,
    ``source`` is where ``siteselect fetch`` stores the GraphML (default
    ``layers/osm/<place>.graphml`` beside ``configs/``); a run reads it when it
    exists and downloads (through osmnx's cache) otherwise.
    """

    source: ResolvedPath | None = Field(
        default=None, description="OSM XML / PBF / GraphML file (or where a download is stored)."
    )
    place: str | None = Field(
        default=None, description='osmnx place query to download, e.g. "San Diego County, CA".'
    )
    polygon_from_study_area: bool = Field(
        default=False, description="Download the network inside the study area (buffered)."
    )
    network_type: Literal["drive", "drive_service"] = Field(
        default="drive",
        description="osmnx network type whose drivable filter applies to files and downloads.",
    )
    cache_dir: ResolvedPath | None = Field(
        default=None,
        description="Folder of the built-graph cache (default .cache/network beside configs/).",
    )
    cache: bool = Field(default=True, description="Cache the built graph on disk.")
    freeway_classes: list[str] = Field(
        default_factory=lambda: ["motorway"],
        min_length=1,
        description='OSM highway classes that are freeways (add "trunk" for expressways).',
    )
    ramp_classes: list[str] = Field(
        default_factory=lambda: ["motorway_link"],
        min_length=1,
        description='OSM highway classes of freeway ramps (add "trunk_link" with "trunk").',
    )
    speeds_kmh: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="Default speed per OSM highway class where maxspeed is missing.",
    )
    connector_speed_kmh: float = Field(
        default=20.0,
        gt=0,
        description="Speed on the straight connector from any point (candidate, demand "
        "point, facility, target feature) to its road node.",
    )
    max_snap_m: float = Field(
        default=1000.0,
        gt=0,
        description="Distance limit from a point to its connected road node, for every point "
        "set: candidates beyond it are flagged off_network and get no value; facilities and "
        "demand points beyond it follow far_facilities / far_demand.",
    )
    far_facilities: Literal["drop", "keep"] = Field(
        default="drop",
        description="Facilities (competitors, own hospitals, network_time target features) "
        "beyond max_snap_m: drop = leave the choice set, with a warning naming them; keep = "
        "stay with their connector time.",
    )
    far_demand: Literal["keep", "drop"] = Field(
        default="keep",
        description="Demand points beyond max_snap_m: keep = counted with their connector "
        "time (max_minutes still applies); drop = left out. Either way reported with the "
        "population involved.",
    )

    @property
    def is_online(self) -> bool:
        """Whether the network is downloaded (``place`` or ``polygon_from_study_area``)."""
        return self.place is not None or self.polygon_from_study_area

    @model_validator(mode="after")
    def _choose_input(self, info: ValidationInfo) -> NetworkSpec:
        if self.place is not None and self.polygon_from_study_area:
            raise ValueError("set either 'place' or 'polygon_from_study_area', not both")
        if self.source is None and not self.is_online:
            raise ValueError("set 'source' (a file), 'place' or 'polygon_from_study_area: true'")
        base = Path((info.context or {}).get("base_dir") or Path.cwd())
        root = base.parent if base.name == "configs" else base
        if self.source is None:
            text = "".join(c if c.isalnum() else " " for c in (self.place or "study area").lower())
            self.source = root / "layers" / "osm" / f"{'-'.join(text.split())}.graphml"
        if self.cache_dir is None:
            self.cache_dir = root / ".cache" / "network"
        return self


class OutputsSpec(_Model):
    """Where and what to write."""

    dir: ResolvedPath | None = Field(
        default=None, description="Output folder; default outputs/<config name> beside configs/."
    )
    top_n: int = Field(default=10, ge=1, description="Number of top sites on the map.")
    context_layers: list[str] = Field(
        default_factory=list, description="Layers drawn on the map as context (coastline...)."
    )
    csv_max_rows: int | None = Field(
        default=200_000,
        ge=1,
        description="Most rows in sites.csv: with more candidates, it holds the best ranked "
        "ones in rank order (all are in sites.gpkg and sites.parquet); null: no limit.",
    )
    csv_bom: bool = Field(
        default=False,
        description="Write sites.csv as UTF-8 with a byte order mark, so that Excel reads "
        "accented names right; false: plain UTF-8.",
    )

    min_separation_m: float | None = Field(
        default=500.0,
        ge=0,
        description="Distinct top sites: a candidate within this distance (outline to outline) "
        "of a better-ranked top site is shadowed (column shadowed_by) and left out of the "
        "top-N list, the map's markers and the report; 0 or null: off.",
    )


class CacheSpec(_Model):
    """The criteria cache: raw measurements a later run and ``siteselect rescore`` reuse."""

    enabled: bool = Field(
        default=True,
        description="Keep every criterion's and constraint's raw values on disk, keyed by "
        "their inputs' hashes and measurement parameters; a later run measures only what "
        "changed, and 'siteselect rescore' re-scores from it.",
    )
    dir: ResolvedPath | None = Field(
        default=None,
        description="Folder of the criteria cache (default .cache/criteria beside configs/, "
        "next to the road-graph cache).",
    )


def _kind_union() -> Any:
    classes = tuple(load_kinds().values())
    return Annotated[
        classes[0] if len(classes) == 1 else _union(classes), Field(discriminator="kind")
    ]


def _union(classes: tuple[type, ...]) -> Any:
    union: Any = classes[0]
    for cls in classes[1:]:
        union = union | cls
    return union


def ensure_kinds() -> None:
    """Complete :class:`Config` with the union of every registered kind (once per process).

    ``constraints`` and ``criteria`` are typed ``AnyKind``, a name resolved here
    rather than at import: the kinds register themselves when
    :func:`~siteselect.config.kinds.load_kinds` imports them, so the config
    module never imports the criteria. A kind registered later (a plug-in
    imported by hand) is picked up by calling this again.
    """
    global _KINDS_BUILT
    known = tuple(load_kinds())
    if known == _KINDS_BUILT:
        return
    Config.model_rebuild(force=True, _types_namespace={"AnyKind": _kind_union()})
    _KINDS_BUILT = known


_KINDS_BUILT: tuple[str, ...] = ()


def _check_working_crs(value: str) -> str:
    parse_working_crs(value)
    return value


class Config(_Model):
    """A complete scoring run."""

    name: str = Field(description="Title of the study, shown on the map and report.")
    crs: Annotated[str, AfterValidator(_check_working_crs)] = Field(
        default="auto",
        description='Working projected CRS in metres ("EPSG:32611"); "auto" picks the local '
        "UTM zone. Geographic, feet-based and Web Mercator CRSs are refused at load.",
    )
    study_area: LayerSpec | None = Field(
        default=None, description="Polygon(s) bounding the study; default: the candidates' extent."
    )
    candidates: CandidatesSpec
    network: NetworkSpec | None = None
    layers: dict[str, LayerSpec] = Field(default_factory=dict)
    constraints: dict[str, AnyKind] = Field(default_factory=dict)
    criteria: dict[str, AnyKind] = Field(min_length=1)
    weights: WeightsSpec | None = Field(
        default=None, description="AHP judgements instead of each criterion's weight."
    )
    aggregation: AggregationSpec = Field(
        default_factory=AggregationSpec,
        description="weighted_sum (default), weighted_product, or {method: owa, ...}.",
    )
    sensitivity: SensitivitySpec = Field(
        default_factory=SensitivitySpec, description="The quick weight-sensitivity check of run."
    )
    outputs: OutputsSpec = Field(default_factory=OutputsSpec)
    cache: CacheSpec = Field(default_factory=CacheSpec)
    buildable: BuildableSpec | None = Field(
        default=None,
        description="Net buildable area: partial exclusions removed from each candidate "
        "(setbacks, zones, airspace, water, steep slopes); see docs/land.md.",
    )
    assemble: AssembleSpec | None = Field(
        default=None,
        description="Land assembly: neighbouring candidates combined into sites of "
        "min_acres; see docs/land.md.",
    )

    # set by load_config, not part of the YAML
    source_path: Path | None = Field(default=None, exclude=True)
    _doc: YamlDocument | None = PrivateAttr(default=None)

    def where(self, loc: PathKey) -> str:
        """``configs/x.yaml:14: layers.hazard`` for a config location (runtime messages).

        The file and line come from the YAML the config was loaded from; a config
        built in code gives the dotted location alone.
        """
        dotted = dotted_loc(loc)
        if self._doc is not None:
            prefix = self._doc.where(loc)
        elif self.source_path is not None:
            prefix = display_path(self.source_path)
        else:
            return dotted
        return f"{prefix}: {dotted}" if dotted else prefix

    def locate(self, exc: SiteSelectError, loc: PathKey) -> SiteSelectError:
        """``exc`` re-raised with the config location ``loc`` in front (once).

        A message from a reader starts with the bare location (``layers.hazard: ...``,
        ``candidates: ...``); that prefix becomes ``file:line: layers.hazard: ...``.
        A message that already names the config file is returned unchanged.
        """
        text = str(exc)
        if self.source_path is not None and display_path(self.source_path) in text:
            return exc
        bare = f"{dotted_loc(loc)}: "
        if text.startswith(bare):
            text = text[len(bare) :]
        source = self._source_of(loc)
        if source is not None and source.name not in text:
            text = f"{source.name}: {text}"
        return type(exc)(f"{self.where(loc)}: {text}")

    def _source_of(self, loc: PathKey) -> Path | None:
        """The input file of the layer, candidates, study area or network at ``loc``."""
        spec: Any = None
        if loc[:1] == ("layers",) and len(loc) >= 2:
            spec = self.layers.get(str(loc[1]))
        elif loc[:1] == ("candidates",):
            spec = self.candidates
        elif loc[:1] == ("study_area",):
            spec = self.study_area
        elif loc[:1] == ("network",):
            spec = self.network
        return getattr(spec, "source", None)

    def locate_any(self, exc: SiteSelectError, entry: PathKey) -> SiteSelectError:
        """``exc`` raised while evaluating config entry ``entry``, located in the YAML.

        A message that starts with a config location of its own (``layers.runways: ``,
        ``network.source: ``, ``candidates: ``) is pinned to that key's line; other
        messages to ``entry`` (or to its ``exc.field`` key, e.g. ``population``).
        """
        text = str(exc)
        field = getattr(exc, "field", None)
        if field is not None:
            if self.source_path is not None and display_path(self.source_path) in text:
                return exc
            return type(exc)(f"{self.where((*entry, field))}: {text}", field=field)
        head = text.split(": ", 1)[0]
        parts = tuple(head.split("."))
        if parts[0] == "layers" and len(parts) >= 2 and parts[1] in self.layers:
            return self.locate(exc, parts)
        if parts[0] in ("network", "candidates", "study_area", "outputs"):
            return self.locate(exc, parts)
        if self.source_path is not None and display_path(self.source_path) in text:
            return exc
        return type(exc)(f"{self.where(entry)}: {text}")

    def error(
        self, loc: PathKey, message: str, cls: type[SiteSelectError] = ConfigError
    ) -> SiteSelectError:
        """A one-line error ``file:line: dotted.loc: message`` of class ``cls``.

        Use it wherever a problem found while running (a layer's column, a band,
        a unit) should point at the config entry the user has to edit::

            raise study.config.error(("layers", "hazard", "units"), "...", LayerError)
        """
        return cls(f"{self.where(loc)}: {message}")

    def all_layer_specs(self) -> dict[str, LayerSpec]:
        """Every layer the run opens, keyed by a readable name."""
        specs: dict[str, LayerSpec] = {}
        if self.candidates.source is not None:
            specs["candidates"] = self.candidates
        if self.study_area is not None:
            specs["study_area"] = self.study_area
        specs.update({f"layers.{k}": v for k, v in self.layers.items()})
        return specs


__all__ = ["Config", "ConfigError", "LayerSpec", "ensure_kinds"]
