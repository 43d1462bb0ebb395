"""The one ARN parser splits every service's ARNs the same way."""

from __future__ import annotations

import pytest

from tidestream.arns import Arn, parse_arn


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000",
            Arn(
                "aws",
                "dynamodb",
                "us-east-1",
                "123456789012",
                "table",
                "Orders/stream/2024-01-01T00:00:00.000",
            ),
        ),
        (
            "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s/consumer/app:v2:1700000000",
            Arn("aws-cn", "kinesis", "cn-north-1", "123456789012", "stream", "s/consumer/app:v2:1700000000"),
        ),
        ("arn:aws:lambda:us-east-1:1:function:fn", Arn("aws", "lambda", "us-east-1", "1", "", "function:fn")),
        ("arn:aws:iam::123456789012:root", Arn("aws", "iam", "", "123456789012", "", "root")),
        ("arn:::::", Arn("", "", "", "", "", "")),
    ],
)
def test_parses_the_six_fields(text, expected):
    assert parse_arn(text) == expected


@pytest.mark.parametrize("text", ["", "Orders", "arn:aws:kinesis:us-east-1:1", "nra:aws:s3:::b/k", None, 7])
def test_not_an_arn_is_none(text):
    assert parse_arn(text) is None


@pytest.mark.parametrize("resource", ["table/Orders", "stream/s/consumer/c:1", "root", "function:fn", "/x"])
def test_full_resource_is_the_sixth_field_as_written(resource):
    parsed = parse_arn(f"arn:aws:svc:r:a:{resource}")
    assert parsed is not None and parsed.full_resource == resource
