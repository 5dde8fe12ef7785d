"""The ``categories`` transform as the kinds see it (see :mod:`siteselect.decision.transforms`).

The transforms are config models (the YAML ``transform:`` block), so the config
step may import them; the criterion kinds come before the decision step and
reach them here, as they reach :class:`~siteselect.config.kinds.KindSpec`.
"""

from siteselect.decision.transforms import Categories, UnknownCategoriesError, category_text

__all__ = ["Categories", "UnknownCategoriesError", "category_text"]
