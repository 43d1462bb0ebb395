"""What a service operation knows about its caller: account, region, request id."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class RequestContext:
    account_id: str
    region: str
    request_id: str
    operation: str = ""
    #: True when the request came as CBOR (Kinesis): timestamps and blobs are native there
    cbor: bool = False
    access_key: str = ""
