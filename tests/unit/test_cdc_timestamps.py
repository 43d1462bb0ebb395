"""ApproximateCreationDateTime: strictly increasing per item, with bounded memory."""

from __future__ import annotations

from tidestream.cdc.capture import Capture
from tidestream.cdc.metrics import Metrics
from tidestream.storage.engine import RocksEngine


def _capture(tmp_path) -> Capture:
    return Capture(RocksEngine(str(tmp_path / "db")), Metrics(), lambda arn: None, lambda t: None)


def test_ties_are_broken_per_item_in_both_precisions(tmp_path):
    c = _capture(tmp_path)
    for micro in (False, True):
        ts = [c._timestamp(b"item", micro) for _ in range(2000)]
        assert all(b > a for a, b in zip(ts, ts[1:]))
        assert len(str(ts[0])) == (16 if micro else 13)
    # another item is not pushed forward by the first one's ties
    assert c._timestamp(b"other", False) <= c._timestamp(b"item", False)


def test_memory_stays_bounded_with_many_items(tmp_path):
    c = _capture(tmp_path)
    for i in range(50_000):
        c._timestamp(b"k%d" % i, False)
    assert len(c._last_us) <= 4097 + 2000  # only items whose last stamp is not yet past
