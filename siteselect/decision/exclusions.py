"""Every exclusion accounted for: counts by cause that add up to the headline.

A candidate is excluded for one or more *causes*:

* a **constraint** it fails (a bound, or the kind's own exclusion such as an
  AICUZ zone), keyed by the constraint's name;
* a **missing value** of a criterion or constraint (off the road network,
  outside a raster's coverage...), keyed by ``no value: <cause>``. Entries that
  share a cause (two drive-time criteria both lacking a value for a parcel off
  the network) share one key, so the same parcels are not counted twice.

For each cause the account gives the candidates it ``fails`` and the number it
excludes ``only`` (no other cause applies). Candidates with several causes are
counted once in ``by_several_causes`` and broken down by their combination, so::

    excluded == sum(cause.only for cause in causes) + by_several_causes
    by_several_causes == sum(combinations.values())

Pure numpy: no I/O, no geometry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from siteselect.criteria.base import Measurement

CauseKind = Literal["constraint", "missing value"]
OFF_NETWORK_COLUMN = "off_network"
"""Boolean extra column of the network kinds: the candidate is farther than
``network.max_snap_m`` from a road. Its missing values get their own cause."""

MISSING_PREFIX = "no value: "


def off_network_cause(max_snap_m: float | None) -> str:
    """The cause text of a value missing because the candidate is off the road network.

    The candidate's own reason says which: no road near, or a road near that is
    not connected to the main network.

    >>> off_network_cause(800.0)
    'off-network (more than 800 m from a connected road, network.max_snap_m)'
    """
    limit = "network.max_snap_m" if max_snap_m is None else f"{max_snap_m:g} m"
    if max_snap_m is None:
        return f"off-network (farther than {limit} from a connected road)"
    return f"off-network (more than {limit} from a connected road, network.max_snap_m)"


def missing_causes(measurement: Measurement, max_snap_m: float | None = None) -> np.ndarray:
    """Per candidate, why its value is missing ("" where it has one).

    The measurement's ``missing_reason``, except for candidates flagged in its
    ``off_network`` column, which get :func:`off_network_cause`.
    """
    values = np.asarray(measurement.values, dtype="float64")
    missing = np.isnan(values)
    causes = np.full(len(values), "", dtype=object)  # one "" object, not n strings
    causes[missing] = measurement.missing_reason
    far = measurement.extra_columns.get(OFF_NETWORK_COLUMN)
    if far is not None:
        off = missing & np.asarray(far, dtype=bool)
        causes[off] = off_network_cause(max_snap_m)
    return causes


@dataclass(frozen=True)
class ExclusionCause:
    """One cause of exclusion and how many candidates it accounts for.

    Attributes
    ----------
    key : str
        The constraint's name, or ``no value: <cause>``.
    kind : {"constraint", "missing value"}
        What excludes.
    description : str
        The constraint's rule, or why the value is missing.
    entries : tuple of str
        Config entries concerned (``constraints.airspace``, ``criteria.freeway_access``).
    fails : int
        Candidates this cause excludes, whatever else excludes them.
    only : int
        Candidates excluded by this cause alone.
    """

    key: str
    kind: CauseKind
    description: str
    entries: tuple[str, ...]
    fails: int
    only: int

    @property
    def phrase(self) -> str:
        """``by airspace`` or ``without a value (off-network ...)``, for sentences."""
        if self.kind == "constraint":
            return f"by {self.key}"
        return f"without a value ({self.description})"

    @property
    def short(self) -> str:
        """Name in combination lists: the constraint's name or the missing cause."""
        return self.key if self.kind == "constraint" else self.description


@dataclass(frozen=True)
class ExclusionAccount:
    """Counts by cause of the excluded candidates; see the module docstring."""

    candidates: int
    excluded: int
    causes: list[ExclusionCause]
    by_one_cause: int
    by_several_causes: int
    combinations: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One sentence whose numbers add up to the headline.

        ``521 excluded: 128 only by airspace, 390 only without a value (off-network ...),
        3 by several causes (airspace + off-network ...: 3)``.
        """
        if self.excluded == 0:
            return f"0 of {self.candidates:,} candidates excluded"
        parts = [f"{c.only:,} only {c.phrase}" for c in self.causes if c.only]
        if self.by_several_causes:
            combos = "; ".join(f"{name}: {count:,}" for name, count in self.combinations.items())
            parts.append(f"{self.by_several_causes:,} by several causes ({combos})")
        return f"{self.excluded:,} excluded: " + ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The ``counts.excluded_by`` entry of run.json."""
        return {
            "causes": {
                c.key: {
                    "kind": c.kind,
                    "description": c.description,
                    "entries": list(c.entries),
                    "fails": c.fails,
                    "only": c.only,
                }
                for c in self.causes
            },
            "by_one_cause": self.by_one_cause,
            "by_several_causes": self.by_several_causes,
            "combinations": dict(self.combinations),
            "adds_up": "excluded = sum of 'only' over the causes + by_several_causes; "
            "by_several_causes = sum of combinations",
            "summary": self.summary(),
        }


@dataclass
class _Pending:
    kind: CauseKind
    description: str
    entries: list[str]
    mask: np.ndarray


class ExclusionLedger:
    """Collects exclusion masks by cause while the pipeline evaluates its entries."""

    def __init__(self, n: int, max_snap_m: float | None = None) -> None:
        self.n = n
        self.max_snap_m = max_snap_m
        self._causes: dict[str, _Pending] = {}

    def _add(self, key: str, kind: CauseKind, description: str, entry: str, mask: np.ndarray):
        pending = self._causes.get(key)
        if pending is None:
            self._causes[key] = _Pending(kind, description, [entry], mask.copy())
            return
        pending.mask |= mask
        if entry not in pending.entries:
            pending.entries.append(entry)

    def constraint(self, name: str, description: str, failed: np.ndarray) -> None:
        """Record the candidates constraint ``name`` fails (bounds or its own exclusions)."""
        self._add(name, "constraint", description, f"constraints.{name}", np.asarray(failed, bool))

    def missing(self, entry: str, measurement: Measurement) -> None:
        """Record the candidates without a value in ``measurement``, by cause."""
        causes = missing_causes(measurement, self.max_snap_m)
        for cause in dict.fromkeys(causes[causes != ""]):
            key = MISSING_PREFIX + str(cause)
            if key in self._causes and self._causes[key].kind == "constraint":
                key += " (missing value)"
            self._add(key, "missing value", str(cause), entry, causes == cause)

    def excluded(self) -> np.ndarray:
        """Whether each candidate is excluded by at least one cause."""
        out = np.zeros(self.n, dtype=bool)
        for pending in self._causes.values():
            out |= pending.mask
        return out

    def account(self, max_combinations: int = 12) -> ExclusionAccount:
        """Counts by cause; see :func:`account_exclusions`."""
        return account_exclusions(
            [(k, p.kind, p.description, tuple(p.entries), p.mask) for k, p in self._causes.items()],
            self.n,
            max_combinations,
        )


def account_exclusions(
    causes: list[tuple[str, CauseKind, str, tuple[str, ...], np.ndarray]],
    n: int,
    max_combinations: int = 12,
) -> ExclusionAccount:
    """Count, per cause, the candidates it fails and those it alone excludes.

    Parameters
    ----------
    causes : list of (key, kind, description, entries, mask)
        ``mask`` is a boolean array of ``n``: the candidates the cause excludes.
    n : int
        Number of candidates.
    max_combinations : int
        Combinations of causes listed by name, most frequent first; the rest are
        summed under ``other combinations`` so the total still adds up.

    >>> a = np.array([True, True, False, False]); b = np.array([False, True, True, False])
    >>> acc = account_exclusions([("a", "constraint", "A", (), a),
    ...                           ("b", "constraint", "B", (), b)], 4)
    >>> acc.excluded, [(c.fails, c.only) for c in acc.causes], acc.combinations
    (3, [(2, 1), (2, 1)], {'a + b': 1})
    """
    matrix = np.zeros((n, len(causes)), dtype=bool)
    for j, (*_, mask) in enumerate(causes):
        matrix[:, j] = mask
    per_candidate = matrix.sum(axis=1)
    alone = per_candidate == 1
    several = per_candidate >= 2
    records = [
        ExclusionCause(
            key=key,
            kind=kind,
            description=description,
            entries=tuple(entries),
            fails=int(matrix[:, j].sum()),
            only=int((matrix[:, j] & alone).sum()),
        )
        for j, (key, kind, description, entries, _) in enumerate(causes)
    ]
    combinations = _combinations(matrix[several], records, max_combinations)
    return ExclusionAccount(
        candidates=n,
        excluded=int((per_candidate > 0).sum()),
        causes=records,
        by_one_cause=int(alone.sum()),
        by_several_causes=int(several.sum()),
        combinations=combinations,
    )


def _combinations(
    rows: np.ndarray, causes: list[ExclusionCause], max_combinations: int
) -> dict[str, int]:
    """``{"airspace + fault_setback": 3, ...}`` most frequent first, ties by name."""
    if rows.shape[0] == 0:
        return {}
    patterns, counts = np.unique(rows, axis=0, return_counts=True)
    named = sorted(
        (
            (" + ".join(causes[j].short for j in np.flatnonzero(p)), int(c))
            for p, c in zip(patterns, counts, strict=True)
        ),
        key=lambda item: (-item[1], item[0]),
    )
    out = dict(named[:max_combinations])
    rest = sum(count for _, count in named[max_combinations:])
    if rest:
        out["other combinations"] = rest
    return out
