"""Deterministic generator of the embedded San Diego-modelled demo region.

``generate(out_dir)`` writes streets and freeways (OSM XML), parcels and census
tracts (GeoPackage), a PGA hazard raster (GeoTIFF), runways and airports
(OurAirports CSV), and hospitals, faults, border, coastline and study area
(GeoJSON). See ``layers/demo/README.md`` for what is real and what is synthetic.
"""

from __future__ import annotations

from siteselect.demo.generate import generate

__all__ = ["generate"]
