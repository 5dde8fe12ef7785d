"""Compare two runs (output folders): the top sites that changed, and why they may have.

A run folder holds ``run.json`` (provenance: the config as loaded, input
hashes) and ``sites.csv`` (``candidate_id``, ``rank``...). :func:`compare_runs`
lists, for the union of both runs' top ``N``, each site's rank in A and B and
whether it entered, left or stayed in the top; :func:`run_differences` lists
what differs between the two configs and inputs (weights, criteria, transforms,
constraints, aggregation, input file hashes).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siteselect._errors import OutputError


@dataclass
class RunFolder:
    """One run's ``run.json`` and ``sites.csv`` (``candidate_id``, ``rank``, ``site_name``...)."""

    folder: Path
    manifest: dict[str, Any]
    sites: pd.DataFrame

    @property
    def top_n(self) -> int:
        """The run's ``outputs.top_n`` (10 when not recorded)."""
        return int(self.manifest.get("config", {}).get("outputs", {}).get("top_n", 10))


def load_run(folder: Path) -> RunFolder:
    """Read a run folder.

    Raises
    ------
    OutputError
        One line naming the folder when it is missing, or lacks a readable
        ``run.json`` or ``sites.csv`` with ``candidate_id`` and ``rank`` columns.
    """
    if not folder.is_dir():
        raise OutputError(f"{folder}: not a folder; give the output folder of a run")
    manifest_path, sites_path = folder / "run.json", folder / "sites.csv"
    for path in (manifest_path, sites_path):
        if not path.is_file():
            raise OutputError(
                f"{folder}: no {path.name}; give the output folder of 'siteselect run'"
            )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputError(f"{manifest_path}: not readable as JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise OutputError(f"{manifest_path}: not a siteselect run.json (no mapping at the top)")
    try:
        sites = pd.read_csv(sites_path, dtype={"candidate_id": str, "site_name": str})
    except (OSError, ValueError) as exc:
        raise OutputError(f"{sites_path}: not readable as CSV ({exc})") from None
    missing = [c for c in ("candidate_id", "rank") if c not in sites.columns]
    if missing:
        raise OutputError(
            f"{sites_path}: no column {', '.join(missing)}; not a siteselect sites.csv"
        )
    return RunFolder(folder, _absolute_paths(manifest, folder), sites)


def _absolute_paths(manifest: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The config's paths resolved against the run folder (run.json stores them relative to it).

    Two runs of the same inputs written to different folders then compare equal.
    """
    config = manifest.get("config")
    for loc in manifest.get("config_path_fields", []) if isinstance(config, dict) else []:
        try:
            holder: Any = config
            for key in loc[:-1]:
                holder = holder[key]
            value = holder[loc[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(value, str) and not os.path.isabs(value):
            holder[loc[-1]] = os.path.normpath(folder.resolve() / value)
    return manifest


def compare_runs(a: RunFolder, b: RunFolder, top_n: int) -> pd.DataFrame:
    """Per site in either run's top ``top_n``: ranks in A and B, the change, the status.

    Columns ``candidate_id``, ``site_name`` (when either run has names),
    ``rank_a``, ``rank_b`` (empty: excluded or not in that run's sites.csv),
    ``rank_change`` (``rank_a - rank_b``: positive = moved up), ``status``
    (``entered``, ``left``, ``stayed``), ``total_score_a``, ``total_score_b``;
    sorted by rank in B, then in A.
    """
    frames = []
    for run, tag in ((a, "a"), (b, "b")):
        columns = ["candidate_id", "rank"] + [
            c for c in ("total_score", "site_name") if c in run.sites.columns
        ]
        part = run.sites[columns].drop_duplicates("candidate_id").set_index("candidate_id")
        frames.append(part.add_suffix(f"_{tag}"))
    merged = frames[0].join(frames[1], how="outer")
    rank_a = pd.to_numeric(merged["rank_a"], errors="coerce")
    rank_b = pd.to_numeric(merged["rank_b"], errors="coerce")
    in_a, in_b = rank_a <= top_n, rank_b <= top_n
    keep = in_a | in_b
    out = pd.DataFrame(index=merged.index[keep])
    out.index.name = "candidate_id"
    names = [merged[c] for c in ("site_name_b", "site_name_a") if c in merged.columns]
    if names:
        name = names[0]
        for other in names[1:]:
            name = name.fillna(other)
        out["site_name"] = name[keep].fillna("")
    out["rank_a"] = rank_a[keep].astype("Int64")
    out["rank_b"] = rank_b[keep].astype("Int64")
    out["rank_change"] = (rank_a - rank_b)[keep].astype("Int64")
    out["status"] = np.select(
        [in_a[keep] & in_b[keep], in_b[keep]], ["stayed", "entered"], default="left"
    )
    for tag in ("a", "b"):
        column = f"total_score_{tag}"
        out[column] = merged[column][keep] if column in merged.columns else np.nan
    out = out.reset_index()
    order = np.lexsort(
        (
            out["rank_a"].to_numpy(dtype="float64", na_value=np.inf),
            out["rank_b"].to_numpy(dtype="float64", na_value=np.inf),
        )
    )
    return out.iloc[order].reset_index(drop=True)


def _criteria(manifest: dict[str, Any]) -> dict[str, Any]:
    return dict(manifest.get("config", {}).get("criteria", {}) or {})


def run_differences(a: RunFolder, b: RunFolder) -> list[tuple[str, str, str]]:
    """``(what, in A, in B)`` for every difference of configuration or input between the runs."""
    out: list[tuple[str, str, str]] = []
    ca, cb = _criteria(a.manifest), _criteria(b.manifest)
    for name in sorted(set(ca) | set(cb), key=lambda n: (n not in ca, n)):
        if name not in cb:
            out.append((f"criterion {name}", "present", "removed"))
            continue
        if name not in ca:
            out.append((f"criterion {name}", "absent", "added"))
            continue
        wa, wb = ca[name].get("weight"), cb[name].get("weight")
        if wa != wb:
            out.append((f"weight {name}", _text(wa), _text(wb)))
        rest_a = {k: v for k, v in ca[name].items() if k != "weight"}
        rest_b = {k: v for k, v in cb[name].items() if k != "weight"}
        for key in sorted(set(rest_a) | set(rest_b)):
            if rest_a.get(key) != rest_b.get(key):
                out.append(
                    (f"criterion {name}.{key}", _text(rest_a.get(key)), _text(rest_b.get(key)))
                )
    config_a, config_b = a.manifest.get("config", {}), b.manifest.get("config", {})
    for section in ("constraints", "weights", "aggregation", "candidates", "network", "layers"):
        sa, sb = config_a.get(section), config_b.get(section)
        if isinstance(sa, dict) and isinstance(sb, dict) and section in ("constraints", "layers"):
            for key in sorted(set(sa) | set(sb)):
                if sa.get(key) != sb.get(key):
                    out.append((f"{section}.{key}", _text(sa.get(key)), _text(sb.get(key))))
        elif sa != sb:
            out.append((section, _text(sa), _text(sb)))
    ia, ib = a.manifest.get("inputs", {}) or {}, b.manifest.get("inputs", {}) or {}
    for name in sorted(set(ia) | set(ib)):
        ha = (ia.get(name) or {}).get("sha256")
        hb = (ib.get(name) or {}).get("sha256")
        if ha != hb:
            out.append((f"input {name} (sha256)", _short(ha), _short(hb)))
    counts_a, counts_b = a.manifest.get("counts", {}), b.manifest.get("counts", {})
    for key in ("candidates", "excluded", "ranked"):
        if counts_a.get(key) != counts_b.get(key):
            out.append(
                (
                    f"{key} candidates" if key != "candidates" else "candidates",
                    _text(counts_a.get(key)),
                    _text(counts_b.get(key)),
                )
            )
    return out


def _short(digest: str | None) -> str:
    return "absent" if digest is None else digest[:12]


def _text(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, default=str)
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)


def write_compare_csv(table: pd.DataFrame, path: Path) -> None:
    """``compare.csv``: the table of :func:`compare_runs`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False, lineterminator="\n")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write compare.csv ({exc.strerror or exc})") from None
