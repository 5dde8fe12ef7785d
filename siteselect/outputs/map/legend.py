"""The map's layer list and legend, both derived from the layers actually drawn.

Every layer :mod:`siteselect.outputs.map.build` draws is registered as a
:class:`LayerEntry` (its folium ``FeatureGroup``, the group heading it is listed
under and its legend row). :func:`legend_html` turns the entries into the legend:
one row per layer, in the layer list's order, drawn with the layer's own colours,
which the page hides while the layer is switched off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import folium

from siteselect.criteria.overlay import Overlay
from siteselect.outputs.map.popup import esc, format_number

#: Layer-list headings, in display order.
GROUPS = {"sites": "Sites", "constraints": "Constraints", "context": "Context"}


@dataclasses.dataclass
class LayerEntry:
    """One toggleable layer of the map.

    Attributes
    ----------
    group : {"sites", "constraints", "context"}
    name : str
        Already-escaped name shown in the layer list.
    layer : folium.map.Layer
        The FeatureGroup (or tile layer) toggled.
    legend : str
        Already-escaped HTML of its legend row's content ("" for none).
    """

    group: str
    name: str
    layer: folium.map.Layer
    legend: str


def overlay_group(overlay: Overlay) -> str:
    """The heading an overlay is listed under: its own, else constraints for zones, else context."""
    group = getattr(overlay, "group", None)
    if group in GROUPS:
        return str(group)
    return "constraints" if overlay.kind == "zones" else "context"


def _swatch(style: str, extra_class: str = "") -> str:
    return f'<span class="ss-swatch {extra_class}" style="{style}"></span>'


def humanise(column: str) -> str:
    """``target_population`` -> ``Target population``; ``BEDS`` -> ``Beds``."""
    words = str(column).replace("_", " ").replace(":", " ").strip()
    return esc(words[:1].upper() + words[1:].lower()) if words else ""


def overlay_legend(
    overlay: Overlay, classes: Sequence[tuple[str, str]] = (), fill: str | None = None
) -> str:
    """Legend row of an overlay, drawn as the layer is.

    Parameters
    ----------
    overlay : Overlay
    classes : sequence of (colour, already-escaped text)
        For a choropleth: one entry per class drawn, low to high.
    fill : str, optional
        The zone colour actually used (zones default to red).

    Returns
    -------
    str
        Escaped HTML.
    """
    name = esc(overlay.name)
    color = esc(fill or overlay.color)
    if classes:
        rows = "".join(
            f'<div class="ss-legend-class">{_swatch(f"background:{esc(c)}")}{text}</div>'
            for c, text in classes
        )
        return f'<div class="ss-legend-name">{name}</div>{rows}'
    if overlay.kind == "zones":
        swatch = _swatch(f"background:{color}38;border:1px dashed {color}")
    elif overlay.kind == "points":
        swatch = _swatch(f"background:{color};border-radius:50%;border:1px solid #fff")
        if overlay.size_column is not None:
            name += f" (circle size: {humanise(overlay.size_column)})"
    elif overlay.kind == "lines":
        swatch = _swatch(f"border-top:3px solid {color}", "ss-swatch-line")
    elif overlay.fill is not None:
        swatch = _swatch(f"background:{esc(overlay.fill)};border:1px solid {color}")
    else:
        swatch = _swatch(f"border:2px solid {color}")
    return f"{swatch}<span>{name}</span>"


def choropleth_classes(
    fills: Sequence[str], values: Sequence[float], labels: Sequence[str] | None, unit: str
) -> list[tuple[str, str]]:
    """Legend classes of a choropleth: colour and the range (or the one label) of each.

    Parameters
    ----------
    fills : sequence of str
        Fill of each feature.
    values : sequence of float
        The classified value of each feature.
    labels : sequence of str, optional
        Escaped feature labels; a class whose features share one label is named by it.
    unit : str
        Escaped words after a numeric range (the column's name).
    """
    by_colour: dict[str, list[int]] = {}
    for i, colour in enumerate(fills):
        by_colour.setdefault(colour, []).append(i)
    out = []
    for colour, members in by_colour.items():
        numbers = [float(values[i]) for i in members if values[i] == values[i]]
        names = {labels[i] for i in members} if labels is not None else set()
        if len(names) == 1:
            text = next(iter(names))
        elif numbers:
            low, high = min(numbers), max(numbers)
            span = (
                format_number(low)
                if low == high
                else f"{format_number(low)}\u2013{format_number(high)}"
            )
            text = f"{span} {unit}".strip()
        else:
            text = "no value"
        out.append((min(numbers, default=float("inf")), colour, text))
    return [(colour, text) for _, colour, text in sorted(out, key=lambda t: t[0])]


def legend_html(entries: Sequence[LayerEntry], note: str = "") -> str:
    """The collapsible legend: a row per layer with a legend, grouped like the layer list."""
    rows = []
    for key, heading in GROUPS.items():
        members = [e for e in entries if e.group == key and e.legend]
        if not members:
            continue
        rows.append(f'<div class="ss-legend-group">{heading}</div>')
        rows += [
            f'<div class="ss-legend-row" data-layer="{e.layer.get_name()}">{e.legend}</div>'
            for e in members
        ]
    return (
        '<div class="ss-legend ss-collapsible" id="ss-legend">'
        '<button type="button" class="ss-section-head" aria-expanded="true">'
        '<span class="ss-head-title">Legend</span><span class="ss-chevron"></span></button>'
        f'<div class="ss-section-body">{"".join(rows)}{note}</div></div>'
    )


def layer_groups_js(entries: Sequence[LayerEntry]) -> list[dict[str, object]]:
    """The grouped layer list for the page: ``[{label, layers: [{id, name}]}]`` in group order."""
    out = []
    for key, heading in GROUPS.items():
        members = [e for e in entries if e.group == key]
        if members:
            out.append(
                {
                    "label": heading,
                    "layers": [{"id": e.layer.get_name(), "name": e.name} for e in members],
                }
            )
    return out
