"""Visibility of a planned building from the roads: cumulative traffic-weighted viewshed.

* :mod:`~siteselect.visibility.kernel`: the compiled line-of-sight kernel;
* :mod:`~siteselect.visibility.roads`: counted roads sampled into carriageways;
* :mod:`~siteselect.visibility.traffic`: daily volumes from counts or defaults;
* :mod:`~siteselect.visibility.terrain`: the DEM (and buildings) on the analysis grid;
* :mod:`~siteselect.visibility.exposure`: grid once, then each candidate's best cell;
* :mod:`~siteselect.visibility.describe`: the exposure in words;
* :mod:`~siteselect.visibility.naive`: the per-pair reference the tests and bench use.

The criterion kind is :mod:`siteselect.criteria.visibility`; see docs/visibility.md.
"""

from siteselect.visibility.describe import describe_exposure, round_people

__all__ = ["describe_exposure", "round_people"]
