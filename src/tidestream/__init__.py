"""tidestream: local, durable DynamoDB and Kinesis Data Streams with change data capture."""

__version__ = "0.1.0"
