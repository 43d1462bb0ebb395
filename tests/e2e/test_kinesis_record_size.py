"""MaxRecordSizeInKiB: the per-stream record size limit, for producers and change capture."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.e2e.cdc_helpers import read_all, setup_cdc


def test_default_and_updated_max_record_size(srv):
    kin = srv.client("kinesis")
    kin.create_stream(StreamName="sized", StreamModeDetails={"StreamMode": "ON_DEMAND"})  # no 1 MB/s cap
    arn = kin.describe_stream_summary(StreamName="sized")["StreamDescriptionSummary"]["StreamARN"]
    assert (
        kin.describe_stream_summary(StreamName="sized")["StreamDescriptionSummary"]["MaxRecordSizeInKiB"]
        == 1024
    )
    big = b"x" * (1024 * 1024)  # data alone at the limit; with the partition key it is over
    with pytest.raises(ClientError) as e:
        kin.put_record(StreamName="sized", PartitionKey="k", Data=big)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "Member must have length less than or equal to 1048576" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        kin.put_records(
            StreamName="sized",
            Records=[{"PartitionKey": "k", "Data": b"ok"}, {"PartitionKey": "k", "Data": big}],
        )
    kin.put_record(StreamName="sized", PartitionKey="k", Data=b"x" * (1024 * 1024 - 1))
    kin.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=2048)
    assert (
        kin.describe_stream_summary(StreamName="sized")["StreamDescriptionSummary"]["MaxRecordSizeInKiB"]
        == 2048
    )
    kin.put_record(StreamName="sized", PartitionKey="k", Data=big)
    kin.create_stream(StreamName="sized2", ShardCount=1, MaxRecordSizeInKiB=4096)
    assert (
        kin.describe_stream_summary(StreamName="sized2")["StreamDescriptionSummary"]["MaxRecordSizeInKiB"]
        == 4096
    )


def test_change_too_large_for_the_stream_is_skipped_and_counted(srv):
    ddb, kin, _ = setup_cdc(srv, shards=1)
    # a 390 KB item: its MODIFY record carries both images (~780 KB) and fits; make the record
    # too big by using many tiny attributes whose JSON is far larger than their item size
    item = {"pk": {"S": "big"}}
    item.update({f"a{i}": {"BOOL": True} for i in range(40000)})  # ~0.2 MB of item, ~0.8 MB of JSON
    ddb.put_item(TableName="orders", Item=item)
    ddb.put_item(TableName="orders", Item=dict(item, a0={"BOOL": False}))  # MODIFY: two images, > 1 MiB
    ddb.put_item(TableName="orders", Item={"pk": {"S": "small"}})
    deadline = time.time() + 10
    keys: list[str] = []
    while time.time() < deadline:
        keys = [json.loads(r["Data"])["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(kin, "changes")]
        if "small" in keys:
            break
        time.sleep(0.05)
    assert keys.count("big") == 1 and "small" in keys  # the INSERT fits, the MODIFY does not
    with urllib.request.urlopen(srv.endpoint + "/metrics", timeout=5) as r:
        text = r.read().decode()
    assert re.search(r'tidestream_cdc_failed_to_replicate_record_total\{table="orders"\} 1\b', text), text
