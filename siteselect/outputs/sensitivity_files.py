"""Files of ``siteselect sensitivity``: two CSV tables and two PNG charts.

``sensitivity.csv``
    ``candidate_id, rank, p_rank1, p_top3, p_top10``: every candidate that
    reaches the top 10 in some weight draw, and the ranked top 10, by rank.
``critical_weights.csv``
    ``criterion, weight, decrease_to_flip, increase_to_flip, new_leader``: the
    smallest relative decrease / increase of each weight (others held) that
    changes the #1 site (empty: none does), and the site that then leads (past
    the nearer of the two). Weighted sum and weighted product: for owa the file
    holds the header alone.
``tornado.png``
    One-at-a-time sweeps: the #1 site's margin over the best other site with
    each weight at -spread and +spread.
``rank_acceptability.png``
    P(rank 1), P(top 3), P(top 10) of the top sites.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from siteselect.decision.sensitivity import SensitivityResult
from siteselect.outputs.figures import _png

SENSITIVITY_FILES = (
    "sensitivity.csv",
    "critical_weights.csv",
    "tornado.png",
    "rank_acceptability.png",
)


def write_sensitivity_files(result: SensitivityResult, folder: Path, top_n: int) -> list[Path]:
    """Write the four files into ``folder`` (created); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in SENSITIVITY_FILES]
    rows = result.table_rows()
    _write_csv(paths[0], ["candidate_id", "rank", "p_rank1", "p_top3", "p_top10"], rows)
    critical = [
        {
            "criterion": c.criterion,
            "weight": c.weight,
            "decrease_to_flip": c.decrease_to_flip,
            "increase_to_flip": c.increase_to_flip,
            "new_leader": None if c.nearest is None else c.nearest[2],
        }
        for c in result.critical
    ]
    fields = ["criterion", "weight", "decrease_to_flip", "increase_to_flip", "new_leader"]
    _write_csv(paths[1], fields, critical)
    paths[2].write_bytes(tornado_chart(result))
    paths[3].write_bytes(acceptability_chart(rows[:top_n]))
    return paths


def _write_csv(path: Path, fields: list[str], rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def tornado_chart(result: SensitivityResult) -> bytes:
    """Horizontal bars: #1's margin at -spread and +spread of each weight, widest first."""
    sweep = result.sweep
    fig = Figure(figsize=(9.0, 0.5 * max(len(result.names), 2) + 1.4))
    ax = fig.add_subplot()
    if sweep is None:
        ax.text(0.5, 0.5, "no sweep computed", ha="center", va="center")
        return _png(fig)
    low, high = sweep.margins[:, 0], sweep.margins[:, -1]
    width = np.abs(high - low)
    order = np.argsort(width, kind="stable")  # widest on top
    labels = [result.labels[i] for i in order]
    y = np.arange(len(order))
    spread = result.settings.spread_pct
    ax.barh(
        y,
        low[order] - sweep.base_margin,
        left=sweep.base_margin,
        color="#2563eb",
        label=f"weight -{spread:g}%",
    )
    ax.barh(
        y,
        high[order] - sweep.base_margin,
        left=sweep.base_margin,
        color="#c2410c",
        label=f"weight +{spread:g}%",
    )
    ax.axvline(sweep.base_margin, color="#111827", linewidth=1)
    ax.axvline(0, color="#9ca3af", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("#1's lead over the best other site, in score (below 0: #1 is no longer first)")
    ax.set_title("One weight at a time (the others held)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def acceptability_chart(rows: list[dict[str, object]]) -> bytes:
    """Grouped bars of P(rank 1), P(top 3), P(top 10) for the top sites."""
    fig = Figure(figsize=(7.5, 3.4))
    ax = fig.add_subplot()
    x = np.arange(len(rows))
    for offset, key, color, name in (
        (-0.27, "p_rank1", "#c2410c", "P(rank 1)"),
        (0.0, "p_top3", "#2563eb", "P(top 3)"),
        (0.27, "p_top10", "#16a34a", "P(top 10)"),
    ):
        ax.bar(
            x + offset,
            [float(r[key]) for r in rows],
            width=0.26,
            color=color,  # type: ignore[arg-type]
            label=name,
        )
    ax.set_xticks(
        x, [f"#{r['rank']} {r['candidate_id']}" for r in rows], fontsize=7, rotation=30, ha="right"
    )
    ax.set_ylim(0, 1.15)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_ylabel("share of weight draws")
    ax.legend(fontsize=8, ncols=3, loc="upper right")
    fig.tight_layout()
    return _png(fig)
