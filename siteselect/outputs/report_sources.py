"""Provenance and assumptions of the report: when, with what, from which data.

Read from ``RunResult.manifest`` (what ``run.json`` holds): ``created_utc``,
the ``siteselect`` record (version, ``git_commit`` when run from a checkout),
``inputs`` (``{key: {"path", "bytes", "sha256"}}``), and
``diagnostics["visibility"]`` (the traffic volumes: counted, or the defaults per
road class, stated as an assumption). Every value is optional: what the manifest
lacks is left out, never guessed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePath
from typing import Any

from siteselect.decision.results import RunResult
from siteselect.outputs.labels import plain_text
from siteselect.outputs.map.popup import esc, format_number

#: OSM road classes in words (others: ``<class> roads``).
ROAD_CLASSES = {
    "motorway": "freeways",
    "trunk": "trunk roads (expressways)",
    "primary": "primary roads",
    "secondary": "secondary roads",
    "tertiary": "tertiary roads",
}

#: How the inputs' config keys read in the sources table.
INPUT_ROLES = {
    "config": "Configuration",
    "candidates": "Candidate parcels",
    "study_area": "Study area",
    "network": "Road network",
}


def run_date(manifest: dict[str, Any]) -> str:
    """``30 November 2026, 11:07 UTC`` from ``created_utc``; empty when absent or unreadable."""
    created = manifest.get("created_utc")
    if not created:
        return ""
    try:
        when = dt.datetime.fromisoformat(str(created))
    except ValueError:
        return str(created)
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return f"{when.day} {when:%B %Y, %H:%M} UTC"


def tool_version(manifest: dict[str, Any]) -> str:
    """``siteselect 0.1.0`` (with ``(commit abc1234)`` when run.json records one); may be empty.

    Read from run.json's ``siteselect`` record (version, git commit), the
    package versions as a fallback.
    """
    tool = manifest.get("siteselect")
    tool = tool if isinstance(tool, dict) else {}
    version = tool.get("version") or (manifest.get("versions") or {}).get("siteselect")
    commit = tool.get("git_commit")
    if not version:
        return ""
    return f"siteselect {version}" + (f" (commit {str(commit)[:10]})" if commit else "")


def config_name(manifest: dict[str, Any]) -> str:
    """The config file's name (``demo.yaml``); empty when run.json records none."""
    path = ((manifest.get("inputs") or {}).get("config") or {}).get("path")
    return PurePath(str(path)).name if path else ""


def meta_line(result: RunResult) -> str:
    """Escaped one-line provenance under the title: date, tool version, config."""
    manifest = result.manifest or {}
    parts = []
    if date := run_date(manifest):
        parts.append(f"Run on {esc(date)}")
    if version := tool_version(manifest):
        parts.append(esc(version))
    if name := config_name(manifest):
        parts.append(f"configuration <code>{esc(name)}</code>")
    return " &middot; ".join(parts)


def _role(key: str) -> str:
    if key in INPUT_ROLES:
        return INPUT_ROLES[key]
    return "Data layer" if key.startswith("layers.") else "Other input"


def sources_section(result: RunResult) -> str:
    """The data sources with their size and SHA-256, so a reader can check the files."""
    inputs = (result.manifest or {}).get("inputs") or {}
    if not inputs:
        return ""
    rows = "".join(
        f"<tr><td>{esc(_role(str(key)))}</td>"
        f"<td><code>{esc(PurePath(str(item.get('path', ''))).name)}</code></td>"
        f'<td class="num">{_size(item.get("bytes"))}</td>'
        f'<td class="hash"><code>{esc(item.get("sha256", ""))}</code></td></tr>'
        for key, item in inputs.items()
        if isinstance(item, dict)
    )
    return (
        '<section class="keep"><h2>Data sources</h2>'
        "<p>Every input file, with its SHA-256 fingerprint (as in <code>run.json</code>): "
        "the same fingerprint means the same data.</p>"
        '<table class="sources"><thead><tr><th>Input</th><th>File</th>'
        '<th class="num">Size</th><th>SHA-256</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def _file_name(result: RunResult, key: str) -> str:
    """The file name of input ``key`` (``layers.traffic_counts``) as run.json records it."""
    item = ((result.manifest or {}).get("inputs") or {}).get(key)
    path = item.get("path") if isinstance(item, dict) else None
    return PurePath(str(path)).name if path else ""


def _size(value: Any) -> str:
    try:
        size = float(value)
    except (TypeError, ValueError):
        return ""
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} bytes"


def assumptions(result: RunResult) -> list[str]:
    """Escaped sentences stating what the run assumed (today: traffic volumes)."""
    records = ((result.manifest or {}).get("diagnostics") or {}).get("visibility") or []
    sentences = []
    for record in records:
        volumes = record.get("volumes") if isinstance(record, dict) else None
        if not isinstance(volumes, dict):
            continue
        defaults = volumes.get("defaults_per_day") or {}
        default_km = volumes.get("road_km_default") or {}
        counted = volumes.get("road_km_counted")
        parts = []
        if volumes.get("layer") and counted:
            source = _file_name(result, f"layers.{volumes['layer']}")
            named = f" (<code>{esc(source)}</code>)" if source else ""
            parts.append(
                f"traffic volumes are the counts supplied{named} on {format_number(counted)} "
                "kilometres of road"
            )
        used = {road: km for road, km in default_km.items() if km}
        if defaults:
            listed = ", ".join(
                f"{esc(ROAD_CLASSES.get(road, str(road).replace('_', ' ') + ' roads'))} "
                f"{format_number(volume)} vehicles a day"
                + (f" (used on {format_number(used[road])} kilometres)" if road in used else "")
                for road, volume in defaults.items()
            )
            where = "elsewhere," if parts else "no traffic counts were supplied, so"
            parts.append(
                f"{where} default volumes per road class are assumed: {listed}"
                + (
                    f' <span class="muted">(source: {esc(plain_text(volumes["defaults_source"]))})'
                    "</span>"
                    if volumes.get("defaults_source")
                    else ""
                )
            )
        if parts:
            sentences.append(
                "Visibility: "
                + "; ".join(parts)
                + ". Volumes are vehicles per day (annual average daily traffic)."
            )
    return sentences


def assumptions_section(result: RunResult) -> str:
    """The assumptions as a short list; empty when there is none."""
    items = assumptions(result)
    if not items:
        return ""
    return (
        '<section class="keep"><h2>Assumptions</h2><ul>'
        + "".join(f"<li>{item}</li>" for item in items)
        + "</ul></section>"
    )
