"""OSM input robust by construction: any tag combination real OSM has.

Unit rules (tags, one-way, maxspeed) with osmnx's own functions as the oracle
where we claim its behaviour; the readers on damaged and odd files; every
consumer of ``highway``/``name``/``ref`` with those tags missing; and a
hypothesis property test that runs the whole pipeline on random OSM files.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pyogrio
import pyproj
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from siteselect._errors import NetworkError, SiteSelectError
from siteselect.cli import cli
from siteselect.config import load_config
from siteselect.network import build_road_graph, read_road_table
from siteselect.network.filters import travel_directions
from siteselect.network.freeway import freeway_edge_labels, freeway_entrances
from siteselect.network.osm import read_osm_table
from siteselect.network.speeds import FALLBACK_SPEED_KMH, MPH_TO_KMH, parse_maxspeed
from siteselect.network.table import table_from_networkx, tag_values
from siteselect.outputs import OUTPUT_FILES, write_outputs
from siteselect.pipeline import run
from tests._world import STEP, UTM, X0, Y0, OsmWriter, build_network, grid_node, write_world

CRS = pyproj.CRS(UTM)
REPO = Path(__file__).resolve().parents[1]


# --- tag rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "values"),
    [
        (None, []),
        ("", []),
        ("  ", []),
        (float("nan"), []),
        ("I 5", ["I 5"]),
        (" I 5 ;I 8;; I 5", ["I 5", "I 8"]),
        (["I 5", "I 8"], ["I 5", "I 8"]),
        ("['I 5', 'I 8']", ["I 5", "I 8"]),  # osmnx GraphML text of a list
        ("[I 5]", ["[I 5]"]),  # not a Python list: kept as written
        (65.0, ["65"]),
        ([None, "", "motorway"], ["motorway"]),
    ],
)
def test_tag_values(raw: object, values: list[str]) -> None:
    assert tag_values(raw) == values


ONEWAY_CASES = [None, "yes", "true", "1", "-1", "reverse", "T", "F", "no", "false", "0"]
ONEWAY_CASES += ["reversible", "alternating", "yes;no", "unknown", "", "2"]


@pytest.mark.parametrize("oneway", ONEWAY_CASES)
@pytest.mark.parametrize("junction", [None, "roundabout"])
def test_oneway_rules_equal_osmnx(oneway: str | None, junction: str | None) -> None:
    """Oracle: osmnx 2.x's own one-way functions, on a non-motorway way."""
    from osmnx.graph import _is_path_one_way, _is_path_reversed

    tags = {"highway": "residential", "oneway": oneway, "junction": junction}
    tags = {k: v for k, v in tags.items() if v is not None}
    oneway_values = {"yes", "true", "1", "-1", "reverse", "T", "F"}
    is_oneway = _is_path_one_way(tags, False, oneway_values)
    reverse = is_oneway and _is_path_reversed(tags, {"-1", "reverse", "T"})
    expected = (True, True) if not is_oneway else (not reverse, reverse)
    assert travel_directions(tags) == expected


@pytest.mark.parametrize(
    ("oneway", "directions"),
    [
        (None, (True, False)),  # the OSM default for motorways (osmnx: two-way)
        ("yes", (True, False)),
        ("-1", (False, True)),
        ("no", (True, True)),
        ("reversible", (True, True)),  # as osmnx: both ways over a day
        ("alternating", (True, True)),
        ("junk", (True, False)),  # not understood: as untagged
        (" Yes ", (True, False)),  # trimmed, case-insensitive
    ],
)
def test_oneway_rules_on_motorways(oneway: str | None, directions: tuple[bool, bool]) -> None:
    tags = {"highway": "motorway"} | ({} if oneway is None else {"oneway": oneway})
    assert travel_directions(tags) == directions


@pytest.mark.parametrize(
    ("raw", "kmh"),
    [
        ("65mph", 65 * MPH_TO_KMH),
        ("50;70", 50.0),
        ("50 mph;70", 70.0),
        ("none", math.nan),
        ("signals", math.nan),
        ("walk", math.nan),
        ("DE:urban", math.nan),
        ("RU:rural;90", 90.0),
        ("50,5", math.nan),
        ("0", math.nan),
        ("-30", math.nan),
        ("9999", math.nan),  # a typing error, not a teleporter
        (130, 130.0),
        (True, math.nan),
        ("", math.nan),
    ],
)
def test_parse_maxspeed_real_values(raw: object, kmh: float) -> None:
    assert parse_maxspeed(raw) == pytest.approx(kmh, nan_ok=True)


# --- readers -----------------------------------------------------------------


def _line_of_nodes(osm: OsmWriter, first_id: int, count: int, y: float = Y0) -> list[int]:
    return [osm.node(first_id + k, X0 + k * STEP, y) for k in range(count)]


def _single_line(exc: pytest.ExceptionInfo[BaseException], name: str) -> str:
    message = str(exc.value)
    assert "\n" not in message and name in message
    return message


def test_odd_ways_are_read_and_counted(tmp_path: Path) -> None:
    osm = OsmWriter()
    line = _line_of_nodes(osm, 1, 4)
    osm.node(-7, X0, Y0 + STEP)  # JOSM writes negative ids for new objects
    osm.way([line[0], line[1], 999, line[2], line[3]], highway="residential")  # 999 missing
    osm.way([line[0], line[0], -7], highway="primary", oneway="maybe")  # repeated node
    osm.way([line[3]], highway="tertiary")  # one node
    osm.way([998, 997], highway="secondary")  # no node in the file
    osm.way([line[1], -7], highway="bogus_class", ref="I 5;I 8", name="", maxspeed="DE:urban")
    osm.way([line[2], -7], highway="footway")
    table = read_osm_table(osm.write(tmp_path / "odd.osm"))
    found = table.diagnostics
    assert found["highway_ways"] == 6 and found["drivable_ways"] == 5
    assert found["missing_node_refs"] == 3 and found["ways_without_edges"] == 2
    assert found["oneway_not_understood_values"] == {"maybe": 1}
    pairs = {
        (int(table.node_ids[u]), int(table.node_ids[v]))
        for u, v in zip(table.u, table.v, strict=True)
    }
    # the residential way is cut at the missing node: 1-2 and 3-4, both ways, not 2-3
    assert {(1, 2), (2, 1), (3, 4), (4, 3)} <= pairs and (2, 3) not in pairs
    assert {(1, -7), (-7, 1), (2, -7), (-7, 2)} <= pairs and (1, 1) not in pairs
    assert list(table.way_ref) == [None, None, None, None, "I 5; I 8"]
    assert list(table.way_name) == [None] * 5
    assert list(table.way_maxspeed) == [None, None, None, None, "DE:urban"]
    graph = build_road_graph(table, CRS)
    bogus = graph.edges["highway"] == "bogus_class"
    assert (graph.edges.loc[bogus, "speed_kmh"] == FALLBACK_SPEED_KMH).all()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('<osm version="0.6"></osm>', "no roads"),
        ('<osm version="0.6"><node id="1" lat="0" lon="0"/></osm>', "no roads"),
        ("this is not OSM", "cannot read"),
        ('<osm version="0.6"><way id="1"><nd ref="1"/><nd ref="2"/>', "cannot read"),
    ],
)
def test_files_without_roads_are_one_line_errors(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "roads.osm"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NetworkError, match=expected) as exc:
        read_road_table(path)
    _single_line(exc, "roads.osm")


def test_no_drivable_way_and_no_located_node_are_one_line_errors(tmp_path: Path) -> None:
    osm = OsmWriter()
    line = _line_of_nodes(osm, 1, 3)
    osm.way(line, highway="footway")
    osm.way(line, highway="")  # empty value: not a road
    with pytest.raises(NetworkError, match="no drivable roads") as exc:
        read_road_table(osm.write(tmp_path / "paths.osm"))
    _single_line(exc, "paths.osm")
    osm = OsmWriter()
    osm.way([1, 2, 3], highway="primary")  # a truncated extract: ways without their nodes
    with pytest.raises(NetworkError, match="3 referenced nodes are missing") as exc:
        read_road_table(osm.write(tmp_path / "truncated.osm"))
    _single_line(exc, "truncated.osm")


def _list_valued_graph() -> nx.MultiDiGraph:
    """A simplified-osmnx-like graph: list-valued tags, a missing ref, odd values."""
    graph = nx.MultiDiGraph(crs="epsg:4326")
    for node, (x, y) in {1: (-117.0, 32.7), 2: (-117.0, 32.71), 3: (-117.0, 32.72)}.items():
        graph.add_node(node, x=x, y=y)
    listed = {"highway": ["motorway", "motorway_link"], "ref": ["I 5", "I 8"], "osmid": [10, 11]}
    graph.add_edge(1, 2, **listed, maxspeed=["65 mph", "55 mph"], oneway=True, length=1112.0)
    graph.add_edge(2, 3, highway="motorway", maxspeed="none", oneway="yes", length=1112.0, osmid=12)
    return graph


def test_graphml_lists_and_odd_values(tmp_path: Path) -> None:
    """osmnx GraphML stores lists as text ("['I 5', 'I 8']"); both forms give one result."""
    graph = _list_valued_graph()
    path = tmp_path / "net.graphml"
    ox.save_graphml(graph, path)
    assert "['I 5', 'I 8']" in path.read_text(encoding="utf-8")
    for table in (read_road_table(path), table_from_networkx(graph)):
        assert sorted(table.way_highway) == ["motorway", "motorway"]
        assert set(table.way_ref) == {"I 5; I 8", None}
        road = build_road_graph(table, CRS)
        speeds = dict(zip(road.edges["ref"], road.edges["speed_kmh"], strict=True))
        assert speeds["I 5; I 8"] == pytest.approx(55 * MPH_TO_KMH)  # the lower of the list
        mask, labels = freeway_edge_labels(road.edges)
        assert mask.all() and sorted(labels) == ["I 5; I 8", "freeway"]
    raw = nx.MultiDiGraph(graph)
    raw.edges[1, 2, 0]["ref"] = "['I 5', 'I 8']"  # as text, e.g. a GraphML not read by osmnx
    raw.nodes[3]["x"] = "junk"
    table = table_from_networkx(raw)
    assert list(table.way_ref) == ["I 5; I 8"]
    assert table.diagnostics == {
        "nodes_without_coordinates": 1,
        "edges_dropped_without_coordinates": 1,
    }


# --- consumers: freeway detection, context overlay, map, GeoPackage ------------


def test_freeway_classes_compare_like_the_tables(tmp_path: Path) -> None:
    graph = build_road_graph(read_road_table(build_network().write(tmp_path / "r.osm")), CRS)
    default = freeway_entrances(graph)
    assert default.size == 2
    np.testing.assert_array_equal(
        freeway_entrances(graph, [" Motorway"], ["MOTORWAY_LINK"]), default
    )


def _strip(osm: OsmWriter, keys: set[str]) -> OsmWriter:
    osm.ways = [(refs, {k: v for k, v in tags.items() if k not in keys}) for refs, tags in osm.ways]
    return osm


def _freeway_labels(out: Path) -> set[str]:
    layers = {name for name, _ in pyogrio.list_layers(out / "sites.gpkg")}
    assert "overlay_freeways" in layers
    frame = pyogrio.read_dataframe(out / "sites.gpkg", layer="overlay_freeways")
    labels = set(frame["feature_name"])
    html = (out / "map.html").read_text(encoding="utf-8")
    assert all(f'"label": "{label}"' in html for label in labels)
    return labels


@pytest.mark.parametrize(
    ("removed", "expected"),
    [
        (set(), {"I 5"}),
        ({"ref"}, {"Montgomery Freeway", "freeway"}),
        ({"name"}, {"I 5"}),
        ({"ref", "name", "maxspeed", "oneway"}, {"freeway"}),
    ],
)
def test_motorways_without_tags_run_end_to_end(
    tmp_path: Path, removed: set[str], expected: set[str]
) -> None:
    config = write_world(tmp_path)
    osm = build_network()
    for refs, tags in osm.ways:
        if tags.get("highway") == "motorway" and refs[0] >= 6000:
            tags["name"] = "Montgomery Freeway"  # only the southbound carriageway is named
    _strip(osm, removed).write(tmp_path / "roads.osm")
    result = CliRunner().invoke(cli, ["run", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert _freeway_labels(tmp_path / "out") == expected


@pytest.mark.skipif(not (REPO / "layers" / "demo" / "roads.osm").exists(), reason="no demo")
def test_demo_without_motorway_refs_runs_and_labels_freeways_by_name(tmp_path: Path) -> None:
    """The reported crash: the demo region with every ``ref`` removed, through the CLI."""
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "demo.yaml").write_text(
        (REPO / "configs" / "demo.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    layers = tmp_path / "layers" / "demo"
    layers.mkdir(parents=True)
    for source in (REPO / "layers" / "demo").iterdir():
        (layers / source.name).symlink_to(source)
    (layers / "roads.osm").unlink()
    text = (REPO / "layers" / "demo" / "roads.osm").read_text(encoding="utf-8")
    assert 'k="ref"' in text
    (layers / "roads.osm").write_text(re.sub(r' *<tag k="ref"[^>]*/>\n', "", text), "utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["run", str(tmp_path / "configs" / "demo.yaml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    labels = _freeway_labels(out)
    assert "freeway" in labels and "Cabrillo Freeway" in labels
    assert not any(label.startswith(("I ", "CA ")) for label in labels)
    diagnostics = json.loads((out / "run.json").read_text(encoding="utf-8"))["diagnostics"]
    assert diagnostics["network"]["source"] == "roads.osm"


# --- property test: random tag subsets, whole pipeline ------------------------

GRID = 4  # 4 x 4 nodes 400 m apart; candidates are the 3 x 3 blocks between them
HIGHWAYS = ["motorway", "motorway_link", "trunk", "primary", "residential", "unclassified"]
HIGHWAYS += ["service", "road", "motorway;trunk", "Motorway", "bogus", "footway", ""]
OPTIONAL_TAGS = {
    "ref": ["I 5", "I 5;I 8", "", " ", "CA-163", "A1 & <E4>", 'say "hi"'],
    "name": ["Montgomery Freeway", "", "Calle Ñandú", "x" * 300],
    "maxspeed": [
        "65 mph",
        "50",
        "50;70",
        "none",
        "signals",
        "walk",
        "DE:urban",
        "9999",
        "0",
        "fast",
    ],
    "oneway": ["yes", "no", "-1", "1", "reversible", "alternating", "T", "F", "yes;no", ""],
    "lanes": ["2", "2;3", "many", ""],
    "junction": ["roundabout"],
    "access": ["private", "yes", "destination", "permissive"],
}
PROPERTY_CONFIG = """\
name: OSM property test
candidates: {source: parcels.gpkg, layer: parcels, id: apn}
network: {source: roads.osm, cache: false, max_snap_m: 300}
constraints:
  near_exit: {kind: network_time, to: freeway, mode: off_ramp, max_minutes: 60}
criteria:
  freeway_access:
    kind: network_time
    transform: {fn: linear, best: 1, worst: 10}
    weight: 1
outputs: {dir: out, top_n: 3}
"""


FREEWAY_X = X0 + (GRID - 1) * STEP + 300.0
FREEWAY_YS = [Y0 - STEP + k * STEP / 2 for k in range(2 * GRID + 1)]


def _tags(draw: st.DrawFn, highways: list[str]) -> dict[str, str]:
    tags = {"highway": draw(st.sampled_from(highways))}
    for key, values in OPTIONAL_TAGS.items():
        if draw(st.booleans()):
            tags[key] = draw(st.sampled_from(values))
    return tags


@st.composite
def osm_ways(draw: st.DrawFn) -> list[tuple[list[int], dict[str, str]]]:
    """A street grid, a freeway with an on- and an off-ramp, and junk ways, all randomly tagged.

    The skeleton makes a usable network likely (so runs reach the outputs);
    the tags and the junk ways (any nodes, repeated, missing: ids 1 and 2)
    cover the combinations.
    """
    streets = HIGHWAYS[3:] + ["residential"] * 4
    freeway = HIGHWAYS + ["motorway"] * 20
    ramps = HIGHWAYS + ["motorway_link"] * 20
    ways = []
    for i in range(GRID):
        ways.append(([grid_node(i, j) for j in range(GRID)], _tags(draw, streets)))
        ways.append(([grid_node(j, i) for j in range(GRID)], _tags(draw, streets)))
    carriageway = [500 + k for k in range(len(FREEWAY_YS))]
    ways.append((carriageway, _tags(draw, freeway)))
    junction = grid_node(GRID - 1, GRID // 2)
    ways.append(([junction, carriageway[GRID + 2]], _tags(draw, ramps)))  # on-ramp
    ways.append(([carriageway[GRID], junction], _tags(draw, ramps)))  # off-ramp
    nodes = [grid_node(i, j) for i in range(GRID) for j in range(GRID)] + carriageway + [1, 2]
    for _ in range(draw(st.integers(0, 4))):
        refs = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=5))
        ways.append((refs, _tags(draw, HIGHWAYS)))
    return draw(st.permutations(ways))


@pytest.fixture(scope="module")
def property_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests._world import parcels

    folder = tmp_path_factory.mktemp("osm_property")
    blocks = parcels()
    keep = [f"P{i}{j}" for i in range(GRID - 1) for j in range(GRID - 1)]
    blocks[blocks["apn"].isin(keep)].to_file(folder / "parcels.gpkg", layer="parcels")
    (folder / "property.yaml").write_text(PROPERTY_CONFIG, encoding="utf-8")
    return folder


@settings(
    derandomize=True,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ways=osm_ways())
def test_random_osm_tags_never_give_an_internal_error(property_world: Path, ways) -> None:
    """Any tag combination: all five outputs, or one SiteSelectError line; nothing else."""
    osm = OsmWriter()
    for i in range(GRID):
        for j in range(GRID):
            osm.node(grid_node(i, j), X0 + i * STEP, Y0 + j * STEP)
    for k, y in enumerate(FREEWAY_YS):
        osm.node(500 + k, FREEWAY_X, y)
    osm.ways = ways
    osm.write(property_world / "roads.osm")
    with tempfile.TemporaryDirectory(dir=property_world) as scratch:
        out = Path(scratch) / "out"
        try:
            write_outputs(run(load_config(property_world / "property.yaml")), out)
        except SiteSelectError as exc:
            assert "\n" not in str(exc) and str(exc).strip()
            event(f"stopped: {type(exc).__name__}: {re.sub(r'[0-9]+', 'N', str(exc))[:90]}")
            return
        assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
        event("completed")


# --- real data -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["mountain_view_2017.osm", "west_oakland.osm.bz2", "kouvola_test.osm.pbf"]
)
def test_real_extracts_read_with_json_diagnostics(shared_data: Path, name: str) -> None:
    table = read_road_table(shared_data / "osm" / name)
    assert table.n_edges > 0
    json.dumps(table.diagnostics)
    assert table.diagnostics["drivable_ways"] <= table.diagnostics["highway_ways"]
    for tags in (table.way_highway, table.way_name, table.way_ref, table.way_maxspeed):
        assert all(v is None or (isinstance(v, str) and v.strip() == v and v) for v in tags)
    graph = build_road_graph(table, pyproj.CRS("EPSG:3857"))
    assert np.isfinite(graph.edges["travel_s"]).all() and (graph.edges["travel_s"] > 0).all()
