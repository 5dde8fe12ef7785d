"""Run the map's own JavaScript (siteselect/outputs/map/web) under node, for oracle tests.

:func:`run_js` loads the named ``web/`` files as CommonJS modules and calls one
function per case, passing each case's arguments as JSON; it returns the results.
Skipped when node is missing, unless ``SITESELECT_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib.resources import files
from typing import Any

import pytest

from tests._browser import REQUIRE_ENV

WEB = files("siteselect.outputs.map").joinpath("web")

_HARNESS = """
const path = require("path");
const mods = Object.assign({}, ...%(modules)s.map((m) => require(path.resolve(%(web)s, m))));
let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  const out = cases.map((args) => {
    const r = mods[%(function)s](...args);
    return r && r.length !== undefined && typeof r !== "string" ? Array.from(r) : r;
  });
  process.stdout.write(JSON.stringify(out));
});
"""


def node() -> str:
    """Path of node, or skip (fail in CI)."""
    found = shutil.which("node")
    if found:
        return found
    message = "node not found (install nodejs to test the map's JavaScript)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {message}")
    pytest.skip(message)


def run_js(modules: list[str], function: str, cases: list[list[Any]]) -> list[Any]:
    """``function(*case)`` for every case, computed by node from the ``web/`` files."""
    script = _HARNESS % {
        "modules": json.dumps(modules),
        "web": json.dumps(str(WEB)),
        "function": json.dumps(function),
    }
    done = subprocess.run(
        [node(), "-e", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
