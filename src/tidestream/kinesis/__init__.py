"""Amazon Kinesis Data Streams: streams, shards, records, iterators, retention and limits."""
