"""Where the measurements run: in this process, or partitioned over a Dask cluster.

The ``local`` engine (default) measures every entry of the config in this
process, with threads on the cores it has (:mod:`siteselect.parallel`). The
``dask`` engine (``siteselect run CONFIG --engine dask``) runs the same
measuring functions over spatial partitions of the candidates on a Dask
cluster:

1. the client loads and cleans the candidates (hygiene, deduplication and
   assembly look at all of them), runs the graph-wide work once -- the shared
   demand searches (:mod:`siteselect.network.demand_searches`) and every kind's
   ``prepare`` (each node's time to the freeway) -- and reads the vector layers;
2. the candidates are cut into partitions along a Hilbert curve
   (:mod:`siteselect.engine.partitions`), so that each partition is a compact
   area and reads small raster windows;
3. the study without its candidates -- graph arrays, layers, per-node results --
   is broadcast to every worker once (:func:`siteselect.engine.worker.shell_of`);
   each partition is measured on a worker (:func:`siteselect.engine.worker.measure_partition`);
4. the measurements are put back in the candidates' order and the pipeline
   goes on as with the local engine: constraints, scoring and ranking are global.

Kinds with a ``plan`` (accessibility and competition: their values come out of
the shared demand searches, whose results are per candidate) are read on the
client after the searches, and so are kinds registered ``partitioned=False``
(``attribute``, a column read). Every other kind must give each candidate a
value that depends on that candidate and the shared inputs only (see
:mod:`siteselect.criteria.base`); what needs every candidate at once is the
measurement's ``finish``, which the pipeline runs on the merged result. The
test suite checks that the two engines write the same ``sites.csv``, byte for
byte.
"""

from __future__ import annotations

from siteselect.engine.options import ENGINES, EngineOptions

__all__ = ["ENGINES", "EngineOptions"]
