"""A stream re-enabled within the millisecond its predecessor was created gets a label (and
so an ARN) of its own: AWS mints a new LatestStreamArn on every re-enable (ack-api-quirks
finding DDB-TABLE-050, verified against AWS 2026-10-09), and a repeated label would make the new
stream the old, disabled one. The clock is pinned, so the collision is certain."""

from __future__ import annotations

from tidestream.dynamodb.operations.tables import _apply_stream_spec
from tidestream.dynamodb.tables import Table

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20.000


def _table() -> Table:
    return Table(
        account="000000000000",
        region="us-east-1",
        name="tbl",
        uid=1,
        table_id="tid-1",
        key_schema=[("id", "HASH")],
        attribute_types={"id": "S"},
        attribute_order=["id"],
        created=T0,
    )


def test_reenabling_in_the_same_millisecond_gets_a_new_label() -> None:
    t = _table()
    on = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    labels = []
    for _ in range(3):
        _apply_stream_spec(t, on, T0)
        labels.append(t.stream_label)
        _apply_stream_spec(t, {"StreamEnabled": False}, T0)
    assert labels == ["2023-11-14T22:13:20.000", "2023-11-14T22:13:20.001", "2023-11-14T22:13:20.002"]
    assert t.stream_arn is not None and t.stream_arn.endswith("/stream/2023-11-14T22:13:20.002")
    # a later enable uses its own time again
    _apply_stream_spec(t, on, T0 + 5.25)
    assert t.stream_label == "2023-11-14T22:13:25.250"
