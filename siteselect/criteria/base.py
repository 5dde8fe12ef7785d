"""What every criterion kind shares: its config model, its result, the registry.

A *kind* (``network_time``, ``distance``...) is one measurement of the
candidates. The same kind serves two roles in a config:

* under ``criteria:`` it needs a ``weight`` and a ``transform`` and contributes
  to the score;
* under ``constraints:`` it needs at least one bound (``min_m``, ``max_minutes``...)
  and excludes the candidates outside the bounds, with a reason.

A kind is added by writing a module with a :class:`KindSpec` subclass and a
``measure(spec, study) -> Measurement`` function decorated with
:func:`register`; :func:`siteselect.config.kinds.load_kinds` finds it (the built-in
kinds, and any package's kinds declared under the ``siteselect.kinds`` entry point). A kind
whose work can be shared with other kinds (the demand searches of
:mod:`siteselect.network.demand_searches`) also passes ``plan=``: a
``plan(spec, study)`` the pipeline calls for every entry before the first
measurement, to register that work. A kind whose ``measure`` does work that
does not depend on the candidates passes ``prepare=`` (see :func:`register`).

A kind without ``plan`` must give each candidate a value that depends on that
candidate and the shared inputs only, never on the other candidates: the Dask
engine (:mod:`siteselect.engine`) measures such kinds partition by partition
and the results must equal one measurement of all candidates.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from siteselect._errors import SiteSelectError
from siteselect.config.kinds import KindSpec, register_spec
from siteselect.criteria.overlay import Overlay

__all__ = ["REGISTRY", "KindHandler", "KindSpec", "Measurement", "named_entry", "register"]

if TYPE_CHECKING:
    from siteselect.config import Config
    from siteselect.study import Study


@dataclass
class Measurement:
    """Raw values of one kind for every candidate, with what explains them.

    Attributes
    ----------
    values : numpy.ndarray
        float64, one per candidate, in the candidates' order; NaN = no value.
    unit : str
        Unit of ``values`` (``min``, ``m``, ``g``, ``%``, ``people``).
    label : str
        What ``values`` measures, for humans.
    feature : numpy.ndarray or None
        Per candidate, the name of the feature that determined the value (the
        nearest fault, the zone entered), used in exclusion reasons.
    extra_columns : dict
        More per-candidate columns to carry into the outputs (e.g. snap distance).
    missing_reason : str
        Why a value can be NaN, for the exclusion reason of such candidates.
    missing_reasons : numpy.ndarray or None
        Optional per-candidate reason for a NaN value, used instead of
        ``missing_reason`` where not "" (e.g. which of "no road within 800 m"
        or "nearest road ... not connected" applies).
    phrase_low, phrase_high : str
        Templates for exclusion reasons when a value is below a minimum / above
        a maximum; ``{value}`` (formatted with its unit), ``{feature}`` and
        ``{label}`` are filled in, e.g. ``"within {value} of {feature}"``.
    overlays : list of Overlay
        Layers worth drawing on the map (zones, facilities).
    reasons : numpy.ndarray or None
        Optional per-candidate phrase used instead of ``phrase_low``/``phrase_high``
        when that candidate fails a bound ("" = use the template).
    exclusions : numpy.ndarray or None
        Optional per-candidate reason the kind itself excludes the candidate
        whenever it is used as a constraint, whatever the bounds ("" = none),
        e.g. ``inside KNKX RWY 24R APZ I``.
    finish : callable or None
        ``finish(measurement, study)`` -> the measurement after what needs every
        candidate at once: a check that no candidate at all has a value, a
        coverage policy using the worst value observed. The pipeline calls it
        once on the whole set (:meth:`finished`), after the partitions of the Dask
        engine are merged, so that ``measure`` itself stays per candidate. Must
        be picklable (a module function, or a ``functools.partial`` of one).
    scratch : dict
        Per-candidate arrays only ``finish`` reads (merged like ``extra_columns``,
        dropped once finished).
    """

    values: np.ndarray
    unit: str
    label: str
    feature: np.ndarray | None = None
    extra_columns: dict[str, np.ndarray] = field(default_factory=dict)
    missing_reason: str = "no value"
    missing_reasons: np.ndarray | None = None
    phrase_low: str = "{label} is {value}"
    phrase_high: str = "{label} is {value}"
    overlays: list[Overlay] = field(default_factory=list)
    reasons: np.ndarray | None = None
    exclusions: np.ndarray | None = None
    finish: Callable[[Measurement, Study], Measurement] | None = None
    scratch: dict[str, np.ndarray] = field(default_factory=dict)

    def finished(self, study: Study, kind: str) -> Measurement:
        """The measurement of all of ``study``'s candidates with ``finish`` applied.

        Raises
        ------
        RuntimeError
            The kind returned a value per candidate of another set.
        """
        n = len(study.candidates)
        if len(self.values) != n:
            raise RuntimeError(f"{kind} returned {len(self.values)} values for {n} candidates")
        done = self if self.finish is None else self.finish(self, study)
        return dataclasses.replace(done, finish=None, scratch={})


MeasureFn = Callable[[Any, "Study"], Measurement]
PlanFn = Callable[[Any, "Study"], None]
PrepareFn = Callable[[Any, "Study"], None]


@dataclass(frozen=True)
class KindHandler:
    """A registered kind: its config model, its measuring function and its optional plan."""

    name: str
    spec_class: type[KindSpec]
    measure: MeasureFn
    plan: PlanFn | None = None
    prepare: PrepareFn | None = None
    partitioned: bool = True


REGISTRY: dict[str, KindHandler] = {}


def register(
    spec_class: type[KindSpec],
    *,
    plan: PlanFn | None = None,
    prepare: PrepareFn | None = None,
    partitioned: bool = True,
) -> Callable[[MeasureFn], MeasureFn]:
    """Register ``measure`` as the implementation of ``spec_class``'s kind.

    The kind name is the single value of the spec's ``kind`` Literal; ``plan``
    (optional) registers work to share before any measurement (see the module
    docstring); ``prepare`` (optional) does the kind's work that does not depend
    on the candidates (a Dijkstra over the whole graph) and keeps it in
    ``study.shared`` for ``measure`` to look up: the Dask engine calls it once on
    the client and broadcasts the result to every partition. ``partitioned=False``
    keeps a kind on the client under the Dask engine: one that only reads the
    candidates' own columns costs less than shipping its values back.
    """
    name = register_spec(spec_class)

    def decorator(measure: MeasureFn) -> MeasureFn:
        REGISTRY[name] = KindHandler(
            name=name,
            spec_class=spec_class,
            measure=measure,
            plan=plan,
            prepare=prepare,
            partitioned=partitioned,
        )
        return measure

    return decorator


@contextlib.contextmanager
def named_entry(config: Config, section: str, name: str) -> Iterator[None]:
    """Pin an error raised while planning or measuring an entry to its YAML line.

    See :meth:`siteselect.config.Config.locate_any`: a message that names its own
    location (``layers.runways: ...``) keeps it; others get the entry's.
    """
    try:
        yield
    except SiteSelectError as exc:
        raise config.locate_any(exc, (section, name)) from None
