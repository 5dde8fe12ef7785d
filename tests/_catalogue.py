"""The catalogue of bad inputs: what county GIS offices and config authors really hand us.

Each :class:`Case` starts from the tiny world of :mod:`tests._world` (a copy per
case), breaks one thing (the YAML text, a layer file, the output folder) and
names the words the one-line error must contain: the file (and the YAML line
where the problem is in the config), the field or feature, and what to do.
``tests/test_catalogue.py`` runs every case through the real CLI.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.transform import from_origin

from tests._world import UTM, WORLD_CONFIG, X0, Y0, build_network


@dataclass
class World:
    """A writable copy of the tiny world: its folder and its config text."""

    folder: Path
    text: str | None = WORLD_CONFIG
    """The config text to write; None when the case wrote the file itself."""
    out: Path | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.folder / "world.yaml"

    def replace(self, old: str, new: str) -> None:
        """Replace the first ``old`` in the config text (which must contain it)."""
        assert self.text is not None and old in self.text, old
        self.text = self.text.replace(old, new, 1)

    def add_layer(self, entry: str) -> None:
        """Add ``entry`` (e.g. ``"faults: faults.geojson"``) under ``layers:``."""
        self.replace("layers:\n", f"layers:\n  {entry}\n")

    def add_constraint(self, entry: str) -> None:
        self.replace("constraints:\n", f"constraints:\n  {entry}\n")

    def add_criterion(self, entry: str) -> None:
        self.replace("criteria:\n", f"criteria:\n  {entry}\n")

    def line_of(self, needle: str) -> int:
        """1-based line of the first config line containing ``needle``."""
        assert self.text is not None
        for number, line in enumerate(self.text.splitlines(), start=1):
            if needle in line:
                return number
        raise AssertionError(needle)

    def write(self) -> None:
        if self.text is not None:
            self.config.write_bytes(self.text.encode("utf-8"))


Setup = Callable[[World], None]


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes
    ----------
    id : str
        Test id.
    setup : callable
        Breaks the world (called before the config is written; may write it itself).
    expect : tuple of str
        Words the error line must contain (case-insensitive), e.g. the file name,
        the field, the fix. ``{line:needle}`` stands for ``world.yaml:<line of needle>``.
    command : str
        ``run`` or ``validate``.
    """

    id: str
    setup: Setup
    expect: tuple[str, ...]
    command: str = "run"


# ----------------------------------------------------------------------------- file helpers


def points_gdf(xy: list[tuple[float, float]], crs: str | None = UTM, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=[shapely.Point(p) for p in xy], crs=crs)


def write_raster(
    path: Path,
    values: np.ndarray,
    *,
    crs: str | None = UTM,
    origin: tuple[float, float] = (X0 - 200, Y0 + 2600),
    cell_m: float = 100.0,
    descriptions: tuple[str, ...] | None = None,
    units: tuple[str, ...] | None = None,
) -> Path:
    """A float32 GeoTIFF of ``values`` (bands x rows x cols or rows x cols)."""
    stack = values[None] if values.ndim == 2 else values
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=stack.shape[2],
        height=stack.shape[1],
        count=stack.shape[0],
        dtype="float32",
        crs=crs,
        transform=from_origin(*origin, cell_m, cell_m),
        nodata=-9999.0,
    ) as dst:
        dst.write(stack.astype("float32"))
        for band, text in enumerate(descriptions or (), start=1):
            dst.set_band_description(band, text)
        if units:
            dst.units = units
    return path


def hazard_values(scale: float = 1.0) -> np.ndarray:
    cols = np.arange(40)
    return np.tile((0.3 + 0.6 * cols / 39) * scale, (30, 1))


def chmod_read_only(path: Path) -> None:
    path.chmod(0o555)


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def write_study_area(folder: Path, box: tuple[float, float, float, float]) -> None:
    gpd.GeoDataFrame({"name": ["study"]}, geometry=[shapely.box(*box)], crs=UTM).to_file(
        folder / "study.geojson"
    )


def write_tracts(folder: Path, frame: pd.DataFrame) -> None:
    boxes = [
        shapely.box(X0 + 600 * k, Y0, X0 + 600 * (k + 1), Y0 + 2400) for k in range(len(frame))
    ]
    gpd.GeoDataFrame(frame, geometry=boxes, crs=UTM).to_file(folder / "tracts.gpkg", layer="tracts")


def network_text(folder: Path, *, with_freeway: bool = True) -> Path:
    return build_network(with_freeway=with_freeway).write(folder / "roads.osm")
