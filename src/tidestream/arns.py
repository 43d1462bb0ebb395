"""The one ARN parser: ``arn:<partition>:<service>:<region>:<account>:<resource>``.

Services decide what a parsed ARN means to them (a Kinesis stream, a DynamoDB table, a stream
label) and keep their own error messages; only the splitting lives here, so every service reads
an ARN the same way. Lambda's FunctionName (which also accepts partial ARNs) and STS's role ARN
are matched by the patterns AWS documents for those parameters instead.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

#: parsed ARNs remembered: requests and change capture name the same few streams and tables
#: again and again (a hit costs ~0.1 µs, a parse ~1 µs); bounded against hostile variety
CACHED_ARNS = 1024


@dataclass(frozen=True, slots=True)
class Arn:
    """Immutable, so one parsed ARN can be shared by every caller (see :data:`CACHED_ARNS`)."""

    partition: str
    service: str
    region: str
    account: str
    #: the resource's text before its first ``/`` ("table", "stream"); "" when there is none
    resource_type: str
    #: the resource after that ``/`` (``Orders/stream/2024-...``), or all of it without a type
    resource: str

    @property
    def full_resource(self) -> str:
        """The sixth field exactly as written (``table/Orders``)."""
        return f"{self.resource_type}/{self.resource}" if self.resource_type else self.resource


def parse_arn(text: str) -> Arn | None:
    """The parts of ``text``, or None when it is not ``arn:`` followed by five more fields (the
    last may hold ``:`` and ``/``, as consumer ARNs' ``:<epoch>`` does). Fields may be empty."""
    if not isinstance(text, str):
        return None
    return _parse(text)


@functools.lru_cache(maxsize=CACHED_ARNS)
def _parse(text: str) -> Arn | None:
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    resource_type, slash, resource = parts[5].partition("/")
    if not slash or not resource_type:
        resource_type, resource = "", parts[5]
    return Arn(parts[1], parts[2], parts[3], parts[4], resource_type, resource)
