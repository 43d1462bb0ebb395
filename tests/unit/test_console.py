"""The console's server side without a browser: where the chart asset comes from, the CDC
snapshot, the Grafana dashboard against the real metric names, and JSON log lines."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from tidestream.cdc.metrics import Metrics
from tidestream.console import VENDOR_FILES, cdc_snapshot, vendor_dir
from tidestream.runtime import JsonLogFormatter

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def _vendor(where: Path) -> Path:
    where.mkdir(parents=True)
    for name in VENDOR_FILES:
        (where / name).write_text("x")
    return where


def test_vendor_asset_prefers_the_packaged_copy_then_the_checkout(tmp_path):
    packaged, checkout = tmp_path / "packaged", tmp_path / "checkout"
    assert vendor_dir(packaged, checkout) is None  # no npm: the console runs without its chart
    _vendor(checkout)
    assert vendor_dir(packaged, checkout) == checkout
    _vendor(packaged)
    assert vendor_dir(packaged, checkout) == packaged


def test_a_partial_vendor_dir_is_not_used(tmp_path):
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / VENDOR_FILES[0]).write_text("x")
    assert vendor_dir(partial, tmp_path / "none") is None


def test_cdc_snapshot_reports_outbox_age_and_per_table_counters():
    metrics = Metrics()
    metrics.captured("orders", 10, 20)
    metrics.captured("orders", 10, 20)
    metrics.published_total["orders"] += 1
    metrics.outbox_depth = 1
    metrics.oldest_pending_at = 1000.0
    snapshot = cdc_snapshot(metrics, now_ms=1_002_500)
    assert snapshot["outboxDepth"] == 1
    assert snapshot["ageOfOldestUnreplicatedRecordMs"] == 2500
    assert snapshot["tables"]["orders"] == {"captured": 2, "published": 1, "throttled": 0, "failed": 0}
    metrics.oldest_pending_at = None
    assert cdc_snapshot(metrics, now_ms=5)["ageOfOldestUnreplicatedRecordMs"] == 0


def test_grafana_dashboard_queries_only_metrics_the_server_exports():
    metrics = Metrics()
    metrics.captured("t", 1, 1)
    for series in (metrics.published_total, metrics.throttled_total, metrics.failed_total):
        series["t"] += 1
    exported = set(re.findall(r"^(tidestream_\w+)", metrics.render(), re.M))
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"tidestream_\w+", target["expr"])
    }
    assert queried == exported, queried ^ exported  # every query works, every metric is shown
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_json_log_lines_are_one_object_each():
    record = logging.LogRecord(
        "tidestream", logging.ERROR, __file__, 1, "write failed: %s\nnext", ("disk",), None
    )
    line = JsonLogFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["message"] == "write failed: disk\nnext"
    assert entry["logger"] == "tidestream" and entry["time"].endswith("Z")
