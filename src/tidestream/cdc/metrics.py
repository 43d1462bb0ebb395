"""Change-capture metrics, in Prometheus text format for ``GET /metrics``.

Named after what DynamoDB publishes to CloudWatch for this feature (AgeOfOldestUnreplicatedRecord,
ThrottledPutRecordCount, FailedToReplicateRecordCount) plus our own counters.
"""

from __future__ import annotations

import time
from collections import defaultdict


class Metrics:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.captured_total: dict[str, int] = defaultdict(int)
        self.published_total: dict[str, int] = defaultdict(int)
        self.throttled_total: dict[str, int] = defaultdict(int)
        self.failed_total: dict[str, int] = defaultdict(int)
        self.units_total: dict[str, int] = defaultdict(int)
        #: set by the publisher: outbox depth and capture time of the oldest pending entry
        self.outbox_depth = 0
        self.oldest_pending_at: float | None = None
        self.duplicates_total = 0

    def captured(self, table: str, old_size: int, new_size: int) -> None:
        """One change captured; sizes are the item sizes of the images (0 when absent). Change
        data capture units: 1 per started KB of the larger image, per item (integer arithmetic:
        this runs for every captured change)."""
        self.captured_total[table] += 1
        larger = old_size if old_size > new_size else new_size
        self.units_total[table] += (larger + 1023) // 1024 or 1

    def render(self) -> str:
        age = 0 if self.oldest_pending_at is None else int((time.time() - self.oldest_pending_at) * 1000)
        lines = [
            "# HELP tidestream_cdc_outbox_depth Change records captured but not yet published.",
            "# TYPE tidestream_cdc_outbox_depth gauge",
            f"tidestream_cdc_outbox_depth {self.outbox_depth}",
            "# HELP tidestream_cdc_age_of_oldest_unreplicated_record_ms AgeOfOldestUnreplicatedRecord.",
            "# TYPE tidestream_cdc_age_of_oldest_unreplicated_record_ms gauge",
            f"tidestream_cdc_age_of_oldest_unreplicated_record_ms {age}",
            "# HELP tidestream_cdc_chaos_duplicates_total Records re-published on purpose by --cdc-chaos.",
            "# TYPE tidestream_cdc_chaos_duplicates_total counter",
            f"tidestream_cdc_chaos_duplicates_total {self.duplicates_total}",
        ]
        for name, help_, series in (
            ("changes_captured_total", "Item changes captured into the outbox.", self.captured_total),
            (
                "changes_published_total",
                "Change records appended to destination streams.",
                self.published_total,
            ),
            (
                "throttled_put_record_total",
                "ThrottledPutRecordCount: appends refused by stream limits (retried).",
                self.throttled_total,
            ),
            (
                "failed_to_replicate_record_total",
                "FailedToReplicateRecordCount: changes that could not be delivered.",
                self.failed_total,
            ),
            (
                "change_data_capture_units_total",
                "Change data capture units (1 per started KB of the larger image).",
                self.units_total,
            ),
        ):
            lines.append(f"# HELP tidestream_cdc_{name} {help_}")
            lines.append(f"# TYPE tidestream_cdc_{name} counter")
            for table, v in sorted(series.items()):
                lines.append(f'tidestream_cdc_{name}{{table="{table}"}} {v}')
        return "\n".join(lines) + "\n"
