"""The QGIS style of the candidates layer, stored in the GeoPackage so QGIS opens it styled.

QGIS keeps styles in a ``layer_styles`` table of the GeoPackage (the table its
"Save Style > In Database" creates, with the same columns) and applies the row
whose ``useAsDefault`` is true when the layer is added. The style written here
is a rule-based renderer, the one QGIS builds with "Refine current rule > Add
ranges to rule":

* ``"excluded"``: grey, labelled "Excluded by a hard constraint";
* ``NOT "excluded"``: graduated by ``total_score`` in :data:`CLASSES` equal
  intervals between the lowest and the highest score of the ranked candidates,
  light yellow (lowest) to dark green (best), the web map's colour ramp.

An SLD 1.1 version of the same classes is stored beside it (``styleSLD``) for
other GIS software. Both are deterministic: rule keys are UUIDs derived from
the content, so two runs on the same inputs write the same bytes.
"""

from __future__ import annotations

import math
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
import pandas as pd

CLASSES = 5
"""Number of graduated classes of the total score."""
SCORE_RAMP = ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837")
"""Lowest to best score: ColorBrewer YlGn, the web map's ramp."""
EXCLUDED_COLOR = "#9ca3af"
"""Fill of excluded parcels (the web map's grey)."""
OUTLINE_COLOR = "#4b5563"
QGIS_VERSION = "3.22.16-Białowieża"
"""The QGIS version the QML declares (Debian bookworm's; later versions read it)."""
STYLE_NAME = "siteselect: total score"
SCORE_COLUMN = "total_score"
EXCLUDED_COLUMN = "excluded"
EXCLUDED_LABEL = "Excluded by a hard constraint"
_NAMESPACE = uuid.UUID("0b6f3f52-8e0b-4c1e-9d55-5a6f2b4e7c11")


@dataclass(frozen=True)
class ScoreClass:
    """One graduated class: ``lower < total_score <= upper`` (``>=`` for the first)."""

    lower: float
    upper: float
    color: str
    first: bool

    @property
    def label(self) -> str:
        return f"{self.lower:.3f} - {self.upper:.3f}"

    @property
    def filter(self) -> str:
        low = ">=" if self.first else ">"
        return (
            f'"{SCORE_COLUMN}" {low} {_number(self.lower)} '
            f'AND "{SCORE_COLUMN}" <= {_number(self.upper)}'
        )


def _number(value: float) -> str:
    return repr(float(value))


def score_classes(total_score: pd.Series, excluded: pd.Series) -> list[ScoreClass]:
    """Equal-interval classes over the ranked candidates' scores (none when none is ranked).

    The bounds are rounded outwards to 3 decimals so that the lowest and the
    highest score fall inside; equal scores give one class.
    """
    scores = total_score.to_numpy(dtype="float64", na_value=np.nan)[~excluded.to_numpy(dtype=bool)]
    scores = scores[np.isfinite(scores)]
    if len(scores) == 0:
        return []
    low = math.floor(scores.min() * 1000) / 1000
    high = math.ceil(scores.max() * 1000) / 1000
    if high <= low:
        return [ScoreClass(low, high, SCORE_RAMP[-1], True)]
    edges = np.linspace(low, high, CLASSES + 1).round(6)
    return [
        ScoreClass(float(edges[i]), float(edges[i + 1]), SCORE_RAMP[i], i == 0)
        for i in range(CLASSES)
    ]


def _rgba(color: str) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"{red},{green},{blue},255"


def _key(*parts: object) -> str:
    return "{" + str(uuid.uuid5(_NAMESPACE, "|".join(map(str, parts)))) + "}"


def _fill_symbol(name: str, color: str) -> ET.Element:
    symbol = ET.Element(
        "symbol",
        {
            "type": "fill",
            "name": name,
            "alpha": "1",
            "clip_to_extent": "1",
            "force_rhr": "0",
        },
    )
    layer = ET.SubElement(
        symbol, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"}
    )
    props = {
        "border_width_map_unit_scale": "3x:0,0,0,0,0,0",
        "color": _rgba(color),
        "joinstyle": "bevel",
        "offset": "0,0",
        "offset_map_unit_scale": "3x:0,0,0,0,0,0",
        "offset_unit": "MM",
        "outline_color": _rgba(OUTLINE_COLOR),
        "outline_style": "solid",
        "outline_width": "0.26",
        "outline_width_unit": "MM",
        "style": "solid",
    }
    for key, value in props.items():  # the <prop k v> form every QGIS 3 reads
        ET.SubElement(layer, "prop", {"k": key, "v": value})
    return symbol


def candidates_qml(classes: list[ScoreClass]) -> str:
    """QML of the candidates layer: excluded grey, the others graduated by total score."""
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "Symbology"})
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        {
            "type": "RuleRenderer",
            "symbollevels": "0",
            "enableorderby": "0",
            "forceraster": "0",
        },
    )
    rules = ET.SubElement(renderer, "rules", {"key": _key("root", *classes)})
    symbols = ET.SubElement(renderer, "symbols")
    ET.SubElement(
        rules,
        "rule",
        {
            "key": _key("excluded"),
            "filter": f'"{EXCLUDED_COLUMN}"',
            "symbol": "0",
            "label": EXCLUDED_LABEL,
        },
    )
    symbols.append(_fill_symbol("0", EXCLUDED_COLOR))
    if classes:
        ranked = ET.SubElement(
            rules,
            "rule",
            {
                "key": _key("ranked", *classes),
                "filter": f'NOT "{EXCLUDED_COLUMN}"',
                "label": "Total score (1 = best)",
            },
        )
        for index, score_class in enumerate(classes, start=1):
            ET.SubElement(
                ranked,
                "rule",
                {
                    "key": _key("class", score_class),
                    "filter": score_class.filter,
                    "symbol": str(index),
                    "label": score_class.label,
                },
            )
            symbols.append(_fill_symbol(str(index), score_class.color))
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerGeometryType").text = "2"
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


_SLD = "http://www.opengis.net/sld"
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"


def _sld_rule(parent: ET.Element, name: str, condition: ET.Element, color: str) -> None:
    rule = ET.SubElement(parent, f"{{{_SE}}}Rule")
    ET.SubElement(rule, f"{{{_SE}}}Name").text = name
    description = ET.SubElement(rule, f"{{{_SE}}}Description")
    ET.SubElement(description, f"{{{_SE}}}Title").text = name
    rule_filter = ET.SubElement(rule, f"{{{_OGC}}}Filter")
    rule_filter.append(condition)
    symbolizer = ET.SubElement(rule, f"{{{_SE}}}PolygonSymbolizer")
    fill = ET.SubElement(symbolizer, f"{{{_SE}}}Fill")
    ET.SubElement(fill, f"{{{_SE}}}SvgParameter", {"name": "fill"}).text = color
    stroke = ET.SubElement(symbolizer, f"{{{_SE}}}Stroke")
    ET.SubElement(stroke, f"{{{_SE}}}SvgParameter", {"name": "stroke"}).text = OUTLINE_COLOR
    ET.SubElement(stroke, f"{{{_SE}}}SvgParameter", {"name": "stroke-width"}).text = "1"


def _compare(operator: str, column: str, value: str) -> ET.Element:
    element = ET.Element(f"{{{_OGC}}}{operator}")
    ET.SubElement(element, f"{{{_OGC}}}PropertyName").text = column
    ET.SubElement(element, f"{{{_OGC}}}Literal").text = value
    return element


def candidates_sld(layer: str, classes: list[ScoreClass]) -> str:
    """The same classes as SLD 1.1 (Styled Layer Descriptor), for other GIS software."""
    for prefix, uri in (("sld", _SLD), ("se", _SE), ("ogc", _OGC)):
        ET.register_namespace(prefix, uri)
    root = ET.Element(f"{{{_SLD}}}StyledLayerDescriptor", {"version": "1.1.0"})
    named = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
    ET.SubElement(named, f"{{{_SE}}}Name").text = layer
    user = ET.SubElement(named, f"{{{_SLD}}}UserStyle")
    ET.SubElement(user, f"{{{_SE}}}Name").text = STYLE_NAME
    style = ET.SubElement(user, f"{{{_SE}}}FeatureTypeStyle")
    _sld_rule(
        style, EXCLUDED_LABEL, _compare("PropertyIsEqualTo", EXCLUDED_COLUMN, "1"), EXCLUDED_COLOR
    )
    for score_class in classes:
        both = ET.Element(f"{{{_OGC}}}And")
        both.append(_compare("PropertyIsEqualTo", EXCLUDED_COLUMN, "0"))
        low = "PropertyIsGreaterThanOrEqualTo" if score_class.first else "PropertyIsGreaterThan"
        both.append(_compare(low, SCORE_COLUMN, _number(score_class.lower)))
        both.append(
            _compare("PropertyIsLessThanOrEqualTo", SCORE_COLUMN, _number(score_class.upper))
        )
        _sld_rule(style, score_class.label, both, score_class.color)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def layer_styles_table(
    layer: str, geometry_column: str, qml: str, sld: str, update_time: pd.Timestamp
) -> pd.DataFrame:
    """The one-row ``layer_styles`` table QGIS reads (its own columns, in its order)."""
    return pd.DataFrame(
        {
            "f_table_catalog": [""],
            "f_table_schema": [""],
            "f_table_name": [layer],
            "f_geometry_column": [geometry_column],
            "styleName": [STYLE_NAME],
            "styleQML": [qml],
            "styleSLD": [sld],
            "useAsDefault": [True],
            "description": [
                "Written by siteselect: excluded parcels grey, the others graduated by "
                "total score (dark green = best)"
            ],
            "owner": [""],
            "ui": [""],
            "update_time": pd.Series([update_time], dtype="datetime64[ms, UTC]"),
        }
    )
