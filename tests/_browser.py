"""Helpers to open a generated map.html in headless Chromium, fully offline.

A default map.html carries Leaflet inline and requests nothing but map tiles. A
map written with ``inline_assets=False`` references its JavaScript and CSS on
CDNs instead: :func:`asset_map` parses the
page's ``<script src>`` and ``<link href>`` and resolves each URL to a file of
``tests/webassets/node_modules`` (installed with
``cd tests/webassets && npm ci --no-audit --no-fund``); :class:`AssetRouter` serves
those files (and the fonts and images they pull in from the same packages),
answers OpenStreetMap tile requests with a transparent PNG and aborts and
*records* every other external request, so a test fails naming the URL.

Typical use (the lead's demo test does the same on the real output)::

    from tests._browser import open_map, require_browser

    def test_demo_map(tmp_path):
        require_browser()
        with open_map(path_to_map_html) as session:
            session.page.locator(".ss-rank-marker").first.click()
            session.assert_clean()
"""

from __future__ import annotations

import base64
import contextlib
import json
import mimetypes
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent
WEBASSETS = ROOT / "webassets"
NODE_MODULES = WEBASSETS / "node_modules"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_ENV = "SITESELECT_REQUIRE_BROWSER"
INSTALL_HINT = (
    "install Chromium with `apt-get install -y chromium` (provides /usr/bin/chromium) and "
    "the web assets with `cd tests/webassets && npm ci --no-audit --no-fund`"
)

#: 1x1 transparent PNG served for every map tile.
TRANSPARENT_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII="
)
TILE_HOSTS = ("tile.openstreetmap.org",)

#: Stylesheets no npm package provides. Both only matter for icon sets the map
#: does not use (Bootstrap 3 glyphicons, rotated AwesomeMarkers), so the router
#: answers them with an empty stylesheet.
#:  - bootstrap-glyphicons.css: Bootstrap 3.0.0 was never published on npm.
#:  - leaflet.awesome.rotate.min.css: lives in folium's git repository, not in
#:    its wheel (served from the installed folium package when a release has it).
EMPTY_STYLESHEETS = (
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css",
)

#: cdnjs library name -> (npm package, folder of the CDN's files in that package).
CDNJS_PACKAGES = {
    "leaflet.awesome-markers": ("leaflet.awesome-markers", "dist"),
    "d3": ("d3", ""),
}
#: code.jquery.com serves ``jquery-<version>[.min].js`` from the package's dist/.
_JQUERY_URL = re.compile(r"^/jquery-(?P<version>[\d.]+)(?P<min>\.min)?\.js$")
_JSDELIVR_NPM = re.compile(r"^/npm/(?P<pkg>(@[^/@]+/)?[^/@]+)@(?P<version>[^/]+)/(?P<path>.+)$")
_CDNJS = re.compile(r"^/ajax/libs/(?P<lib>[^/]+)/(?P<version>[^/]+)/(?P<path>.+)$")

EMPTY = Path("/dev/null")


class AssetError(AssertionError):
    """A URL the page references cannot be served from the local assets."""


class _AssetParser(HTMLParser):
    """Collect ``<script src>`` and ``<link href>`` URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def referenced_urls(html: str) -> list[str]:
    """External (http/https) URLs of the page's scripts and stylesheets, in page order."""
    parser = _AssetParser()
    parser.feed(html)
    return [u for u in dict.fromkeys(parser.urls) if urlsplit(u).scheme in ("http", "https")]


def _package_version(package: str) -> str | None:
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8")).get("version")


def _existing(path: Path) -> Path | None:
    """``path``, or its non-minified sibling (jsDelivr minifies ``X.js`` on the fly)."""
    if path.is_file():
        return path
    for suffix in (".js", ".css"):
        if path.name.endswith(".min" + suffix):
            plain = path.with_name(path.name[: -len(".min" + suffix)] + suffix)
            if plain.is_file():
                return plain
    return None


def _folium_template(name: str) -> Path | None:
    """A file of the installed folium package's templates folder, if it ships it."""
    import folium

    candidate = Path(folium.__file__).parent / "templates" / name
    return candidate if candidate.is_file() else None


def resolve(url: str, *, check_version: bool = True) -> Path:
    """Local file that stands in for ``url``.

    Parameters
    ----------
    url : str
        A CDN URL (or a font/image URL relative to one).
    check_version : bool
        For jsDelivr npm URLs, require the installed package's version to be the
        URL's (so a folium upgrade that moves to a new Leaflet is noticed).

    Returns
    -------
    pathlib.Path
        The file; :data:`EMPTY` for the stylesheets in :data:`EMPTY_STYLESHEETS`.

    Raises
    ------
    AssetError
        When no local file matches, with the reason.
    """
    parts = urlsplit(url)
    if url in EMPTY_STYLESHEETS:
        return _folium_template(Path(parts.path).name) or EMPTY
    if parts.netloc == "cdn.jsdelivr.net" and (m := _JSDELIVR_NPM.match(parts.path)):
        package, version = m["pkg"], m["version"]
        installed = _package_version(package)
        if installed is None:
            raise AssetError(f"{url}: npm package {package!r} not in {NODE_MODULES}")
        if check_version and installed != version:
            raise AssetError(
                f"{url}: tests/webassets has {package}@{installed}, the page wants "
                f"{version}; update tests/webassets/package.json and package-lock.json"
            )
        found = _existing(NODE_MODULES / package / m["path"])
    elif parts.netloc == "code.jquery.com" and (m := _JQUERY_URL.match(parts.path)):
        if _package_version("jquery") != m["version"]:
            raise AssetError(f"{url}: tests/webassets has no jquery@{m['version']}")
        found = _existing(NODE_MODULES / "jquery" / "dist" / f"jquery{m['min'] or ''}.js")
    elif parts.netloc == "cdnjs.cloudflare.com" and (m := _CDNJS.match(parts.path)):
        package, folder = CDNJS_PACKAGES.get(m["lib"].lower(), (None, ""))
        if package is None:
            raise AssetError(f"{url}: cdnjs library {m['lib']!r} not in CDNJS_PACKAGES")
        found = _existing(NODE_MODULES / package / folder / m["path"])
    else:
        raise AssetError(f"{url}: no rule maps this host/path to tests/webassets")
    if found is None:
        raise AssetError(f"{url}: expected file missing under {NODE_MODULES}")
    return found


def asset_map(html: str) -> dict[str, Path]:
    """Map every script/stylesheet URL of ``html`` to its local file.

    Raises
    ------
    AssetError
        Listing every URL that cannot be resolved.
    """
    mapping: dict[str, Path] = {}
    problems: list[str] = []
    for url in referenced_urls(html):
        try:
            mapping[url] = resolve(url)
        except AssetError as exc:
            problems.append(str(exc))
    if problems:
        raise AssetError("unresolvable page assets:\n  " + "\n  ".join(problems))
    return mapping


def _content_type(path: Path) -> str:
    if path == EMPTY:
        return "text/css"
    guessed = {".js": "application/javascript", ".css": "text/css", ".woff2": "font/woff2"}
    return (
        guessed.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )


@dataclass
class AssetRouter:
    """Playwright route handler serving the page's CDN assets from node_modules.

    Attributes
    ----------
    assets : dict of str to Path
        From :func:`asset_map`.
    served : list of str
        URLs answered from local files.
    unexpected : list of str
        External URLs that were requested but are not known assets; aborted.
    """

    assets: dict[str, Path]
    served: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def __call__(self, route: Any) -> None:
        """Fulfil or abort one intercepted request."""
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            route.continue_()
            return
        if parts.hostname and parts.hostname.endswith(TILE_HOSTS):
            route.fulfill(status=200, content_type="image/png", body=TRANSPARENT_PNG)
            return
        path = self._local(url)
        if path is None:
            self.unexpected.append(url)
            route.abort()
            return
        self.served.append(url)
        body = b"" if path == EMPTY else path.read_bytes()
        route.fulfill(status=200, content_type=_content_type(path), body=body)

    def _local(self, url: str) -> Path | None:
        """The local file of a known asset or of a sub-resource of a known package."""
        if url in self.assets:
            return self.assets[url]
        try:
            return resolve(url.split("?")[0].split("#")[0])
        except AssetError:
            return None


@dataclass
class MapSession:
    """An opened map: the Playwright page and what went wrong while it ran.

    Attributes
    ----------
    page : playwright.sync_api.Page
    errors : list of str
        Console messages of type ``error`` and uncaught page errors.
    dialogs : list of str
        Messages of every alert/confirm/prompt (an XSS symptom); auto-dismissed.
    router : AssetRouter
        What was served and which requests were unexpected.
    """

    page: Any
    errors: list[str]
    dialogs: list[str]
    router: AssetRouter

    def problems(self) -> list[str]:
        """Every error, dialog and unexpected request, as readable lines."""
        return (
            [f"console/page error: {e}" for e in self.errors]
            + [f"dialog opened: {d!r}" for d in self.dialogs]
            + [f"unmapped external request: {u}" for u in self.router.unexpected]
        )

    def assert_clean(self) -> None:
        """Fail listing :meth:`problems`, if any."""
        problems = self.problems()
        assert not problems, "map page problems:\n  " + "\n  ".join(problems)

    def screenshot(self, name: str = "map.png") -> Path:
        """Save a screenshot under ``tests/artifacts/`` and return its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path


def require_browser() -> None:
    """Skip (or, with ``SITESELECT_REQUIRE_BROWSER=1``, fail) when the browser is missing."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} not found")
    if not NODE_MODULES.is_dir():
        missing.append(f"{NODE_MODULES} not found")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("python package playwright not installed (pip install -e '.[test]')")
    if not missing:
        return
    message = "; ".join(missing) + f" - {INSTALL_HINT}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but the browser test cannot run: {message}")
    pytest.skip(message)


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_map(
    html_path: Path, *, viewport: tuple[int, int] = (1400, 900), timeout_ms: int = 30_000
) -> Iterator[MapSession]:
    """Open ``html_path`` (file://) in headless Chromium with every asset served locally.

    Parameters
    ----------
    html_path : pathlib.Path
        A map.html written by :func:`siteselect.outputs.map.build.write_map`.
    viewport : (int, int)
        Window size in CSS pixels.
    timeout_ms : int
        Default Playwright timeout.

    Yields
    ------
    MapSession
        After the page's ``load`` event and once Leaflet has drawn the map pane.
        Call :meth:`MapSession.assert_clean` at the end of the test.
    """
    html_path = Path(html_path).resolve()
    router = AssetRouter(asset_map(html_path.read_text(encoding="utf-8")))
    errors: list[str] = []
    dialogs: list[str] = []
    with launch_chromium() as browser:
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, service_workers="block"
        )
        context.set_default_timeout(timeout_ms)
        context.route("**/*", router)
        page = context.new_page()
        page.on("console", lambda msg: _on_console(msg, errors))
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on("dialog", lambda dialog: _on_dialog(dialog, dialogs))
        page.goto(html_path.as_uri(), wait_until="load")
        page.wait_for_selector(".leaflet-map-pane", state="attached")
        try:
            yield MapSession(page=page, errors=errors, dialogs=dialogs, router=router)
        finally:
            context.close()


_HOVER_JS = """
([prop, needle]) => {
    const map = window[document.querySelector(".folium-map").id];
    let target = null;
    map.eachLayer((layer) => {
        const props = layer.feature && layer.feature.properties;
        if (!target && props && String(props[prop] ?? "").includes(needle)) { target = layer; }
    });
    if (!target) { return false; }
    const latlng = target.getLatLng ? target.getLatLng() : target.getBounds().getCenter();
    target.fire("mouseover", {latlng: latlng}, true);
    return true;
}
"""


def hover_feature(page: Any, prop: str, needle: str) -> str:
    """Hover the first GeoJSON feature whose ``properties[prop]`` contains ``needle``.

    Works for canvas-rendered layers too (it fires Leaflet's ``mouseover`` on the
    feature's layer rather than moving the mouse).

    Returns
    -------
    str
        The text of the tooltip that opened.
    """
    assert page.evaluate(_HOVER_JS, [prop, needle]), f"no feature with {prop} ~ {needle!r}"
    tooltip = page.locator(".leaflet-tooltip").last
    tooltip.wait_for(state="visible")
    return tooltip.inner_text()


def _on_console(message: Any, errors: list[str]) -> None:
    if message.type == "error":
        location = message.location or {}
        errors.append(f"console.error: {message.text} ({location.get('url', '?')})")


def _on_dialog(dialog: Any, dialogs: list[str]) -> None:
    dialogs.append(f"{dialog.type}: {dialog.message}")
    dialog.dismiss()
