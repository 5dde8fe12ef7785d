"""The study: working CRS, candidates, every named layer and raster, read and checked.

The second step of the data flow: turns a validated config into inputs in the
working CRS (:class:`Study`), with the hygiene, coordinate and unit checks of
real data (``hygiene``, ``coordinates``, ``rasters``), zonal statistics
(``zonal``) and the demand and facility tables of the market kinds.
"""

from siteselect.study.core import CANDIDATE_COLUMNS, Study, load_candidates, load_study

__all__ = ["CANDIDATE_COLUMNS", "Study", "load_candidates", "load_study"]
