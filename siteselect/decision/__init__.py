"""From raw measurements to a ranking: transforms, constraints and their reasons, scores.

The fourth step of the data flow: ``transforms`` (value functions), ``scoring``
(constraints, weights, totals, ranks), ``exclusions`` (why each candidate is
out, counted once) and ``results`` (what a run hands to the outputs).
"""
