"""The interactive map: one self-contained HTML file built with folium.

``build`` assembles the map; ``geo`` (coordinates for the web), ``grid``
(aggregated cells for large runs), ``overlays`` (context layers), ``popup``
(site cards), ``whatif`` (the weight sliders) and ``assets`` (the inlined
Leaflet files of ``vendor/``) each own one part.
"""

from siteselect.outputs.map.build import build_map, write_map

__all__ = ["build_map", "write_map"]
