"""The network cache: damaged entries are rebuilt with one warning; writes are atomic."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyproj
import pytest
from click.testing import CliRunner

from siteselect.cli import cli
from siteselect.config import NetworkSpec
from siteselect.network import RoadGraph, load_road_graph
from siteselect.network import cache as cache_module
from siteselect.network.cache import CACHE_FORMAT, load_graph, save_graph
from tests._world import UTM, build_network, write_world

CRS = pyproj.CRS(UTM)


def _same_graph(a: RoadGraph, b: RoadGraph) -> None:
    for name in ("node_ids", "lon", "lat", "in_main"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.matrix != b.matrix).nnz == 0 and a.diagnostics == b.diagnostics
    assert a.edges.astype(object).equals(b.edges.astype(object))


def _rewrite_npz(entry: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    with np.load(entry) as stored:
        arrays = dict(stored)
    change(arrays)
    with open(entry, "wb") as stream:
        np.savez(stream, **arrays)


def _truncate(entry: Path) -> None:
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])


def _empty(entry: Path) -> None:
    entry.write_bytes(b"")


def _garbage(entry: Path) -> None:
    entry.write_bytes(np.random.default_rng(0).bytes(4096))


def _pickle(entry: Path) -> None:
    entry.write_bytes(pickle.dumps({"node_ids": [1, 2, 3]}))


def _object_array(entry: Path) -> None:
    with open(entry, "wb") as stream:  # needs allow_pickle, which the loader refuses
        np.save(stream, np.array([{"a": 1}], dtype=object), allow_pickle=True)


def _old_format(entry: Path) -> None:
    _rewrite_npz(entry, lambda a: a.update(format=np.asarray(CACHE_FORMAT - 1)))


def _old_layout(entry: Path) -> None:
    _rewrite_npz(entry, lambda a: [a.pop("format"), a.pop("diagnostics")])


def _inconsistent(entry: Path) -> None:
    _rewrite_npz(entry, lambda a: a.update(indices=a["indices"] + len(a["node_ids"])))


def _codes_out_of_range(entry: Path) -> None:
    _rewrite_npz(entry, lambda a: a.update(edge_ref_codes=a["edge_ref_codes"] + 100))


def _folder(entry: Path) -> None:
    entry.unlink()
    entry.mkdir()


DAMAGE = [
    _truncate,
    _empty,
    _garbage,
    _pickle,
    _object_array,
    _old_format,
    _old_layout,
    _inconsistent,
    _codes_out_of_range,
]


@pytest.fixture
def cached(tmp_path: Path) -> tuple[NetworkSpec, Path, RoadGraph]:
    """A network, its spec with a cache folder, the one cache entry and the built graph."""
    path = build_network().write(tmp_path / "roads.osm")
    spec = NetworkSpec(source=path, cache_dir=tmp_path / "cache")
    graph = load_road_graph(spec, CRS)
    (entry,) = (tmp_path / "cache").glob("*.npz")
    return spec, entry, graph


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_damaged_entry_is_rebuilt_with_one_warning(
    cached, damage, caplog: pytest.LogCaptureFixture
) -> None:
    spec, entry, fresh = cached
    damage(entry)
    with caplog.at_level(logging.WARNING, logger="siteselect"):
        rebuilt = load_road_graph(spec, CRS)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and entry.name in warnings[0] and "rebuilding" in warnings[0]
    _same_graph(rebuilt, fresh)
    _same_graph(load_graph(entry, CRS), fresh)  # the entry was replaced by a good one
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="siteselect"):
        load_road_graph(spec, CRS)
    assert not caplog.records


def test_entry_replaced_by_a_folder_still_runs(cached, caplog: pytest.LogCaptureFixture) -> None:
    spec, entry, fresh = cached
    _folder(entry)
    with caplog.at_level(logging.WARNING, logger="siteselect"):
        _same_graph(load_road_graph(spec, CRS), fresh)
    messages = [r.getMessage() for r in caplog.records]
    assert any("cannot be loaded" in m and entry.name in m for m in messages)
    assert any("cannot write network cache" in m for m in messages)


def test_cache_keeps_the_diagnostics(cached) -> None:
    _, entry, fresh = cached
    assert fresh.diagnostics["source"] == "roads.osm" and fresh.diagnostics["drivable_ways"] > 0
    assert load_graph(entry, CRS).diagnostics == fresh.diagnostics


@pytest.mark.parametrize("fail_at", ["write", "rename"])
def test_failed_write_leaves_the_old_entry_and_no_temporary_file(
    cached, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    """A run killed (here: failing) mid-write never leaves a truncated entry."""
    _, entry, graph = cached
    before = entry.read_bytes()

    def half_written(stream, **arrays) -> None:
        stream.write(before[: len(before) // 3])
        raise OSError("No space left on device")

    def no_rename(*args) -> None:
        raise OSError("killed before the rename")

    if fail_at == "write":
        monkeypatch.setattr(cache_module.np, "savez", half_written)
    else:
        monkeypatch.setattr(cache_module.os, "replace", no_rename)
    with pytest.raises(OSError):
        save_graph(graph, entry)
    assert entry.read_bytes() == before
    assert sorted(p.name for p in entry.parent.iterdir()) == [entry.name]


def test_truncated_entry_through_the_cli_warns_and_gives_the_same_results(tmp_path: Path) -> None:
    """The reported failure: BadZipFile on every run after a truncated write."""
    config = write_world(tmp_path)
    runner = CliRunner()
    first = runner.invoke(cli, ["run", str(config), "--out", str(tmp_path / "first")])
    assert first.exit_code == 0, first.output
    (entry,) = (tmp_path / ".cache" / "network").glob("*.npz")
    _truncate(entry)
    second = runner.invoke(cli, ["run", str(config), "--out", str(tmp_path / "second")])
    assert second.exit_code == 0, second.output
    assert "BadZipFile" in second.output and entry.name in second.output
    assert second.output.count("cannot be loaded") == 1
    csv = "sites.csv"
    assert (tmp_path / "first" / csv).read_bytes() == (tmp_path / "second" / csv).read_bytes()
