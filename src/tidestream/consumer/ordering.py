"""Drop duplicate and stale changes, per item, in bounded memory.

AWS documents that Kinesis Data Streams for DynamoDB may deliver a change more than once and
out of order, and tells consumers to use ApproximateCreationDateTime to spot both. tidestream
keeps that timestamp strictly increasing per item (µs precision), so "newer than the last
change admitted for this item" is exactly the test: a duplicate has the same
:attr:`~tidestream.consumer.changes.Change.order_key`, a stale reordering a smaller one.

Memory is bounded by an LRU of item keys (``max_items``). The price of the bound: once an item
has been evicted (``max_items`` other items changed since it last did), a late duplicate or
stale change of it is admitted again. Size the cap above the number of distinct items that
change within your worst delivery delay (with ``--cdc-chaos delay-ms=N``: items changed in N ms).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

from .changes import Change

DEFAULT_MAX_ITEMS = 100_000


class LatestPerItem:
    """Admits a change only if it is newer than every change admitted before for that item."""

    def __init__(self, max_items: int = DEFAULT_MAX_ITEMS) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        #: item key -> order key of the newest admitted change; least recently changed first
        self._newest: OrderedDict[tuple, tuple[int, int]] = OrderedDict()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._newest)

    def admit(self, change: Change) -> bool:
        """True (and remember it) if ``change`` is the newest seen for its item; False for a
        duplicate or a stale, reordered change."""
        item, version = change.item_key, change.order_key
        newest = self._newest.get(item)
        if newest is not None and version <= newest:
            self.dropped += 1
            return False
        self._newest[item] = version
        self._newest.move_to_end(item)
        if len(self._newest) > self.max_items:
            self._newest.popitem(last=False)
        return True

    def filter(self, changes: Iterable[Change]) -> Iterator[Change]:
        """The admitted changes of ``changes``, in arrival order."""
        return (change for change in changes if self.admit(change))
