"""The JavaScript and CSS of the map: inlined from ``outputs/map/vendor`` or linked on a CDN.

Folium's map links Leaflet, jQuery, Bootstrap, Font Awesome and AwesomeMarkers on
CDNs. The siteselect map only needs Leaflet and the fullscreen plugin (its
popups, legend and panels are plain HTML built by :mod:`siteselect.outputs.map.whatif`
and :mod:`siteselect.outputs.map.popup`), so :func:`use_assets` drops folium's
default links and puts Leaflet and the plugin in the page's ``<head>``: inline
(the default, so ``map.html`` works offline for whoever receives it) or as CDN
links of the same versions. The map's own stylesheet and scripts
(``outputs/map/web``: aggregation, marker fan-out, sites panel, layout) are
always inlined.
"""

from __future__ import annotations

import functools
import importlib.resources

import folium
import folium.plugins
from branca.element import Element

LEAFLET_VERSION = "1.9.3"
FULLSCREEN_VERSION = "3.0.0"
_CDN = "https://cdn.jsdelivr.net/npm"
#: (file in siteselect/outputs/map/vendor, CDN URL), in load order.
SCRIPTS = (
    ("leaflet.js", f"{_CDN}/leaflet@{LEAFLET_VERSION}/dist/leaflet.js"),
    (
        "Control.FullScreen.js",
        f"{_CDN}/leaflet.fullscreen@{FULLSCREEN_VERSION}/Control.FullScreen.js",
    ),
)
STYLESHEETS = (
    ("leaflet.css", f"{_CDN}/leaflet@{LEAFLET_VERSION}/dist/leaflet.css"),
    (
        "Control.FullScreen.css",
        f"{_CDN}/leaflet.fullscreen@{FULLSCREEN_VERSION}/Control.FullScreen.css",
    ),
)
#: The map's own files in siteselect/outputs/map/web, in load order.
WEB_SCRIPTS = ("aggregate.js", "declutter.js", "sites.js", "layout.js")
WEB_STYLESHEET = "map.css"


@functools.cache
def vendored_text(name: str, folder: str = "vendor") -> str:
    """Text of one file of ``siteselect/outputs/map/<folder>`` (``vendor`` or ``web``)."""
    files = importlib.resources.files("siteselect.outputs.map").joinpath(folder)
    return files.joinpath(name).read_text("utf-8")


def web_text(name: str) -> str:
    """Text of one of the map's own files (``siteselect/outputs/map/web``)."""
    return vendored_text(name, "web")


def _inline_script(source: str) -> str:
    """``<script>`` element; ``</`` is written ``<\\/`` so no string can close it early."""
    return "<script>" + source.replace("</", "<\\/") + "</script>"


def asset_tags(inline: bool) -> str:
    """The ``<head>`` markup that loads Leaflet and the fullscreen plugin.

    Parameters
    ----------
    inline : bool
        True: the vendored files' content; False: links to jsDelivr.

    Returns
    -------
    str
        Stylesheets first, then scripts in load order; the map's own (``web/``)
        last, always inline.
    """
    if inline:
        styles = [f"<style>{vendored_text(name)}</style>" for name, _ in STYLESHEETS]
        scripts = [_inline_script(vendored_text(name)) for name, _ in SCRIPTS]
    else:
        styles = [f'<link rel="stylesheet" href="{url}"/>' for _, url in STYLESHEETS]
        scripts = [f'<script src="{url}"></script>' for _, url in SCRIPTS]
    styles.append(f"<style>{web_text(WEB_STYLESHEET)}</style>")
    scripts += [_inline_script(web_text(name)) for name in WEB_SCRIPTS]
    return "\n".join(styles + scripts)


def use_assets(fmap: folium.Map, fullscreen: folium.plugins.Fullscreen, inline: bool) -> None:
    """Replace folium's CDN links by Leaflet and the fullscreen plugin only.

    Parameters
    ----------
    fmap : folium.Map
        The map; its ``default_js``/``default_css`` are emptied (instance attributes,
        folium's class lists are left alone).
    fullscreen : folium.plugins.Fullscreen
        The map's fullscreen control; its links are emptied likewise.
    inline : bool
        See :func:`asset_tags`.
    """
    for element in (fmap, fullscreen):
        element.default_js = []
        element.default_css = []
    fmap.get_root().header.add_child(Element(asset_tags(inline)), name="ss_assets", index=0)
