"""``sites.gpkg``: the candidates and the map overlays, readable by older GDAL and QGIS.

* **GeoPackage 1.2** (``VERSION=1.2``): GDAL 3.8 and later write 1.4 by default,
  which GDAL 3.6 (Debian bookworm's, under its QGIS 3.22) opens with the warning
  "This version of GeoPackage user_version=0x000028A0 (10400, v1.4.0) may only
  be partially supported". Nothing here needs 1.3 or 1.4.
* **Layer names of at most** :data:`MAX_LAYER_NAME` characters (whole words of
  the overlay's name, made unique), the full name as the layer's title
  (``gpkg_contents.identifier``) and a description.
* **The QGIS style** of the candidates layer in ``layer_styles``
  (:mod:`siteselect.outputs.qgis_style`), registered in ``gpkg_contents`` as an
  attributes table, as QGIS's own "save style in database" does.
* Time stamps (``last_change``, the style's ``update_time``) are the run's
  ``created_utc`` when the manifest has one, so a run's file is reproducible.

Written through pyogrio's Arrow path: integer columns stay integers (``rank``
NULL where excluded).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyogrio

from siteselect.decision.results import RunResult
from siteselect.demo.writers import gdal_config
from siteselect.outputs import qgis_style

GPKG_VERSION = "1.2"
"""GeoPackage version written (GDAL's ``VERSION`` creation option)."""
MAX_LAYER_NAME = 40
"""Longest layer name written (some GIS software cuts or refuses longer ones)."""
STOP_WORDS = frozenset({"a", "an", "and", "by", "for", "in", "of", "on", "that", "the", "to"})
"""Words left out of layer names (kept in the title)."""
CANDIDATES_LAYER = "candidates"
OVERLAY_PREFIX = "overlay_"


def layer_names(names: list[str]) -> dict[str, str]:
    """A unique layer name of at most :data:`MAX_LAYER_NAME` characters per overlay name.

    ``overlay_`` and the name's lower-case words joined by ``_``; a name too long
    loses "and", "the"... and is cut after the last whole word that fits; a name
    that would repeat an earlier one gets ``_2``, ``_3``... Equal overlay names
    share one entry.

    >>> layer_names(["Target households reached (drive time gravity, 15 min half-life)"])
    {'Target households reached (drive time gravity, 15 min half-life)': \
'overlay_target_households_reached_drive'}
    """
    out: dict[str, str] = {}
    used: set[str] = {CANDIDATES_LAYER, "layer_styles"}
    for name in names:
        if name in out:
            continue
        words = re.sub(r"[^0-9a-zA-Z]+", " ", name).lower().split() or ["layer"]
        if len(OVERLAY_PREFIX + "_".join(words)) > MAX_LAYER_NAME:
            words = [w for w in words if w not in STOP_WORDS] or words
        base = OVERLAY_PREFIX + words[0]
        for word in words[1:]:
            if len(base) + 1 + len(word) > MAX_LAYER_NAME:
                break
            base += "_" + word
        base = base[:MAX_LAYER_NAME]
        layer, number = base, 1
        while layer in used:
            number += 1
            suffix = f"_{number}"
            layer = base[: MAX_LAYER_NAME - len(suffix)] + suffix
        used.add(layer)
        out[name] = layer
    return out


def _unique_titles(titles: Iterator[str]) -> Iterator[str]:
    """``gpkg_contents.identifier`` is UNIQUE: a repeated title gets `` (2)``."""
    seen: set[str] = set()
    for title in titles:
        shown, number = title, 1
        while shown in seen:
            number += 1
            shown = f"{title} ({number})"
        seen.add(shown)
        yield shown


def _timestamp(result: RunResult) -> pd.Timestamp:
    created = result.manifest.get("created_utc")
    stamp = pd.Timestamp(created) if created else pd.Timestamp(dt.datetime.now(dt.UTC))
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.floor("ms")


def candidates_description(result: RunResult) -> str:
    """What the candidates layer holds, in a sentence (``gpkg_contents.description``)."""
    return (
        f"{result.title}: every candidate parcel with its measured values (raw_*), "
        "scores (score_*, 0-1, 1 = best), weighted contributions (contrib_*), total_score, "
        "rank (1 = best; empty when excluded) and the reason for any exclusion"
    )


def write_geopackage(result: RunResult, path: Path) -> None:
    """``candidates`` layer, one layer per overlay and the QGIS style, in the working CRS.

    SQLite does not wait for the disk to confirm each transaction
    (``OGR_SQLITE_SYNCHRONOUS=OFF``): the file is in a staging folder until the
    whole run is written, so a crash cannot leave a half-written GeoPackage
    among the results.
    """
    stamp = _timestamp(result)
    overlays = [o for o in result.overlays if not o.gdf.empty]
    names = layer_names([o.name for o in overlays])
    with gdal_config(
        OGR_SQLITE_SYNCHRONOUS="OFF",
        OGR_CURRENT_DATE=stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    ):
        titles = _unique_titles(
            iter([f"Candidate sites: {result.title}", *(o.name for o in overlays)])
        )
        pyogrio.write_dataframe(
            result.candidates,
            path,
            layer=CANDIDATES_LAYER,
            driver="GPKG",
            use_arrow=True,
            dataset_options={"VERSION": GPKG_VERSION},
            layer_options={
                "IDENTIFIER": next(titles),
                "DESCRIPTION": candidates_description(result),
            },
        )
        written: set[str] = set()
        for overlay, title in zip(overlays, titles, strict=False):
            layer = names[overlay.name]
            if layer in written:
                continue
            written.add(layer)
            pyogrio.write_dataframe(
                overlay.gdf,
                path,
                layer=layer,
                driver="GPKG",
                append=False,
                use_arrow=True,
                layer_options={
                    "IDENTIFIER": title,
                    "DESCRIPTION": f"Map overlay ({overlay.kind}): {overlay.name}",
                },
            )
        write_candidates_style(result, path, stamp)


def geometry_column(path: Path, layer: str) -> str:
    """The geometry column of ``layer`` as ``gpkg_geometry_columns`` records it."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        row = db.execute(
            "select column_name from gpkg_geometry_columns where table_name = ?", (layer,)
        ).fetchone()
    if row is None:
        raise ValueError(f"{path} has no geometry column for layer {layer!r}")
    return str(row[0])


def write_candidates_style(result: RunResult, path: Path, stamp: pd.Timestamp) -> None:
    """Add the candidates' QGIS style to ``layer_styles`` (created as QGIS creates it)."""
    classes = qgis_style.score_classes(
        result.candidates[qgis_style.SCORE_COLUMN], result.candidates[qgis_style.EXCLUDED_COLUMN]
    )
    table = qgis_style.layer_styles_table(
        CANDIDATES_LAYER,
        geometry_column(path, CANDIDATES_LAYER),
        qgis_style.candidates_qml(classes),
        qgis_style.candidates_sld(CANDIDATES_LAYER, classes),
        stamp,
    )
    pyogrio.write_dataframe(
        table,
        path,
        layer="layer_styles",
        driver="GPKG",
        append=False,
        use_arrow=True,
        layer_options={"FID": "id", "IDENTIFIER": "layer_styles"},
    )
