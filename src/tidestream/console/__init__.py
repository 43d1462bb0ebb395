"""The web console: static pages under ``/_tidestream/console`` and one read-only JSON endpoint.

The console's JavaScript calls the server's real AWS APIs (``POST /`` with ``X-Amz-Target``,
SigV4-signed in the browser under ``--auth enforce``), so it adds no second way to read or
change data. Only what those APIs don't expose, the change-capture outbox and counters, comes
from ``GET /_tidestream/console/api/cdc``. Everything here is reached through the operator-route
table, never on an API request's path (see docs/console.md and docs/decisions/0003).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..http.app import AdminRoute, dumps
from ..http.messages import Request, Response

PREFIX = "/_tidestream/console"
STATIC_DIR = Path(__file__).parent / "static"
#: the charting library (uPlot, from npm): the files the console loads, and where npm puts them
VENDOR_FILES = ("uPlot.iife.min.js", "uPlot.min.css")
_CHECKOUT_VENDOR = Path(__file__).resolve().parents[3] / "console" / "node_modules" / "uplot" / "dist"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
#: the pages load nothing from elsewhere and may not be framed (clickjacking) or sniffed
_PAGE_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]


def vendor_dir(packaged: Path = STATIC_DIR / "vendor", checkout: Path = _CHECKOUT_VENDOR) -> Path | None:
    """Where the charting library is: copied into the package by the build (a wheel), else
    ``console/node_modules`` of a source checkout after ``npm ci``; None when neither has it
    (the console then works without its chart and says why)."""
    for where in (packaged, checkout):
        if all((where / name).is_file() for name in VENDOR_FILES):
            return where
    return None


def _static(path: Path) -> Response:
    ctype = _TYPES.get(path.suffix, "application/octet-stream")
    return Response(200, path.read_bytes(), [("Content-Type", ctype), *_PAGE_HEADERS])


def _file_routes() -> dict[tuple[str, str], AdminRoute]:
    """One GET route per shipped file, read once at startup (a few tens of KB).

    Unsigned even under ``--auth enforce``: a browser cannot sign a page load, and the files
    hold no data; every read of data the page makes is signed (docs/security.md)."""
    files = {name: STATIC_DIR / name for name in ("console.js", "sigv4.js", "console.css")}
    vendor = vendor_dir()
    if vendor is not None:
        files.update({"vendor/" + name: vendor / name for name in VENDOR_FILES})
    routes: dict[tuple[str, str], AdminRoute] = {}
    for url_name, path in files.items():
        routes[("GET", f"{PREFIX}/{url_name}")] = AdminRoute(_cached(_static(path)), signed=False)
    index = AdminRoute(_cached(_static(STATIC_DIR / "index.html")), signed=False)
    routes[("GET", PREFIX)] = routes[("GET", PREFIX + "/")] = index
    return routes


def _cached(response: Response) -> Callable[[Request], Response]:
    return lambda req: Response(response.status, response.body, list(response.headers))


def cdc_snapshot(metrics: Any, now_ms: int) -> dict:
    """The change-capture state the AWS APIs don't expose: outbox depth, the age of the oldest
    unpublished change (AgeOfOldestUnreplicatedRecord) and per-table counters."""
    oldest = metrics.oldest_pending_at
    age = 0 if oldest is None else max(0, now_ms - int(oldest * 1000))
    tables: dict[str, dict[str, int]] = {}
    for field, series in (
        ("captured", metrics.captured_total),
        ("published", metrics.published_total),
        ("throttled", metrics.throttled_total),
        ("failed", metrics.failed_total),
    ):
        for table, count in series.items():
            tables.setdefault(table, {"captured": 0, "published": 0, "throttled": 0, "failed": 0})[field] = (
                count
            )
    return {
        "time": now_ms,
        "outboxDepth": metrics.outbox_depth,
        "ageOfOldestUnreplicatedRecordMs": age,
        "tables": tables,
    }


def routes(metrics: Any, clock: Callable[[], float]) -> dict[tuple[str, str], AdminRoute]:
    """The console's operator routes, for :class:`tidestream.http.app.Application`."""

    def cdc(req: Request) -> Response:
        body = dumps(cdc_snapshot(metrics, int(clock() * 1000)))
        return Response(200, body, [("Content-Type", "application/json"), ("Cache-Control", "no-store")])

    table = _file_routes()
    table[("GET", PREFIX + "/api/cdc")] = AdminRoute(cdc)
    return table
