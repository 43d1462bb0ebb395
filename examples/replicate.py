"""Replicate a DynamoDB table into another through its Kinesis CDC stream (last writer wins)."""

import threading
import time

from tidestream.consumer.changes import decode_kinesis_record
from tidestream.consumer.ordering import LatestPerItem


def apply(target, change) -> None:
    """Last writer wins: the newest change of an item decides its state in the replica."""
    if change.event_name == "REMOVE":
        target.delete_item(Key=change.keys)
    else:
        target.put_item(Item=change.new_image)


def replicate(kinesis, stream: str, target, stop: threading.Event) -> None:
    """Poll every shard from the start until ``stop`` is set (resharding is not followed)."""
    latest = LatestPerItem(max_items=100_000)  # drops duplicates and stale reorderings
    iterators = [
        kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for shard in kinesis.list_shards(StreamName=stream)["Shards"]
    ]
    while not stop.is_set():
        for i, iterator in enumerate(iterators):
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            for change in latest.filter(map(decode_kinesis_record, page["Records"])):
                apply(target, change)
            iterators[i] = page["NextShardIterator"]
        time.sleep(0.25)  # GetRecords allows 5 calls per second per shard
