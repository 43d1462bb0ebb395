"""A KCL-compatible Kinesis consumer runtime in Python (no JVM).

It keeps its leases in a DynamoDB table with the Kinesis Client Library's own schema, so Java KCL
workers and these workers can take over each other's application. It is a client of the AWS
APIs through boto3 clients you pass in: the same code runs against tidestream or AWS.

    from tidestream.consumer import ConsumerConfig, RecordProcessor, Worker

    class Printer(RecordProcessor):
        def process_records(self, input):
            for record in input.records:
                print(record.data)
            input.checkpointer.checkpoint()

        def shard_ended(self, input):
            input.checkpointer.checkpoint()

    Worker(ConsumerConfig("my-app", "my-stream"), Printer, kinesis_client, dynamodb_client).run()
"""

from .aio import AsyncCheckpointer, AsyncRecordProcessor, AsyncWorker
from .changes import Change, NotAChange, UserIdentity, decode_kinesis_record, decode_stream_record
from .checkpoint import Checkpointer, ShutdownException
from .config import ConsumerConfig, InitialPosition
from .kpl import UserRecord, deaggregate, deaggregate_all
from .lease import ExtendedSequenceNumber, Lease
from .lease_table import LeaseTable
from .ordering import LatestPerItem
from .processor import (
    InitializationInput,
    LeaseLostInput,
    ProcessorFailed,
    ProcessRecordsInput,
    Record,
    RecordProcessor,
    ShardEndedInput,
    ShutdownRequestedInput,
)
from .worker import Worker

__all__ = [
    "Change",
    "NotAChange",
    "UserIdentity",
    "decode_kinesis_record",
    "decode_stream_record",
    "UserRecord",
    "deaggregate",
    "deaggregate_all",
    "LatestPerItem",
    "AsyncCheckpointer",
    "AsyncRecordProcessor",
    "AsyncWorker",
    "Checkpointer",
    "ConsumerConfig",
    "ExtendedSequenceNumber",
    "InitialPosition",
    "InitializationInput",
    "Lease",
    "LeaseLostInput",
    "LeaseTable",
    "ProcessorFailed",
    "ProcessRecordsInput",
    "Record",
    "RecordProcessor",
    "ShardEndedInput",
    "ShutdownException",
    "ShutdownRequestedInput",
    "Worker",
]
