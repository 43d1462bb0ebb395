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
    #: True when the HTTP layer serializes the answer: an operation may hand it pre-encoded
    #: JSON (``orjson.Fragment``); in-process callers (Lambda pollers) get plain values
    wire: bool = False
