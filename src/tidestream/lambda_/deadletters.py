"""Discarded batches: AWS's invocation record for a mapping's OnFailure destination.

SQS, SNS and S3 are not served by tidestream, so the record goes to the dead-letter log, one
JSON object per line: ``<data-dir>/lambda/dead-letters.jsonl`` (see docs/lambda.md). A line is
written (and flushed) before the checkpoint that moves past the batch, so a crash in between
writes it again rather than losing it.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import orjson

from ..ids import uuid4_text

log = logging.getLogger("tidestream.lambda")

FILE_NAME = "dead-letters.jsonl"
#: the destinations a stream mapping's OnFailure may name (none is served here: the log stands in)
DESTINATION_SERVICES = ("sqs", "sns", "s3")


def iso_ms(epoch: float) -> str:
    """AWS's timestamps in invocation records: ``2019-11-14T00:38:06.021Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def invocation_record(
    *,
    function_arn: str,
    condition: str,
    invoke_count: int,
    function_error: str | None,
    batch_info_name: str,
    shard_id: str,
    stream_arn: str,
    sequences: list[str],
    arrivals: list[float],
) -> dict[str, Any]:
    """The record AWS sends an OnFailure destination for a discarded stream batch."""
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = function_error
    return {
        "requestContext": {
            "requestId": uuid4_text(),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso_ms(time.time()),
        batch_info_name: {
            "shardId": shard_id,
            "startSequenceNumber": sequences[0],
            "endSequenceNumber": sequences[-1],
            "approximateArrivalOfFirstRecord": iso_ms(arrivals[0]),
            "approximateArrivalOfLastRecord": iso_ms(arrivals[-1]),
            "batchSize": len(sequences),
            "streamArn": stream_arn,
        },
    }


class DeadLetterLog:
    """The append-only file standing in for SQS / SNS / S3 OnFailure destinations."""

    def __init__(self, root: str) -> None:
        self.path = os.path.join(root, FILE_NAME)

    def clear(self) -> None:
        """Forget every line (``POST /_tidestream/reset``: the mappings they name are gone)."""
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass

    def append(self, destination: str, mapping_uuid: str, record: dict[str, Any]) -> None:
        line = orjson.dumps(
            {"destination": destination, "eventSourceMappingUUID": mapping_uuid, "record": record}
        )
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.write(line + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        log.warning(
            "discarded a batch of %s (%s); record in %s",
            mapping_uuid,
            record["requestContext"]["condition"],
            self.path,
        )
