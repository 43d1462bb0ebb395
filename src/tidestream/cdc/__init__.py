"""Change data capture: a transactional outbox from table writes to change feeds.

- :mod:`.capture` turns committed item changes into outbox entries, in the same atomic batch as
  the item write (so a change can't be lost or invented by a crash).
- :mod:`.publisher` drains the outbox into each destination stream, deleting an entry only in
  the same atomic batch that appends its record (at-least-once; here exactly-once unless chaos
  is switched on).
- :mod:`.records` renders an entry into the exact AWS Kinesis-for-DynamoDB record JSON.
- :mod:`.destinations` is the destination status machine (ENABLING -> ACTIVE -> ...).
- :mod:`.metrics` counts what happened, for ``GET /metrics``.

The capture knows nothing of Kinesis: a second feed (DynamoDB Streams) is another renderer and
cursor over the same entries.
"""
