"""The DynamoDB Streams API (``DynamoDBStreams_20120810.*``), fed by the change capture.

- :mod:`.state` keeps the streams (one per StreamSpecification enablement), their single shard
  and their records in the engine under ``\\x06``, and is the capture's ``streams``: a
  record (and the stream's metadata, when the change opens the stream) is written in the same
  atomic batch as the item change it describes.
- :mod:`.iterators` issues and verifies shard iterators (signed, 15-minute lifetime).
- :mod:`.records` renders a stored change as the GetRecords ``Record`` for the stream's view type.
- :mod:`.operations` implements ListStreams, DescribeStream, GetShardIterator and GetRecords.
- :mod:`.service` builds the :class:`tidestream.service.ServiceSpec`.

See ``docs/dynamodb-streams.md`` for what is supported and the choices made.
"""
