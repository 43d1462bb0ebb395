"""Kinesis conformance: stream tags (both APIs) and resource policies."""

from __future__ import annotations

import json

import pytest

from tests.e2e.kinesis_conformance_helpers import (
    ACCOUNT,
    MAX128,
    MIN1,
    NAME_PATTERN,
    bad,
    client,
    fails,
    make_stream,
    not_found,
    null,
    validation,
)

INVALID = (
    "InvalidArgumentException",
    "Some tags contain invalid characters. Valid characters: "
    "Unicode letters, digits, white space, _ . / = + - % @.",
)


def illegal(verb: str) -> tuple[str, str]:
    prep = "to" if verb == "add" else "from"
    return (
        "InvalidArgumentException",
        f"Failed to {verb} tags {prep} stream s under account {ACCOUNT} because some "
        "tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, "
        "'_',',','/','=','+','-','@'.",
    )


@pytest.fixture
def kin(srv):
    return client(srv)


def test_add_tags_validation(kin):
    assert fails(kin.add_tags_to_stream) == validation(null("tags"), null("streamName"))
    assert fails(kin.add_tags_to_stream, StreamName="", Tags={}) == validation(
        bad("{}", "tags", MIN1), bad("", "streamName", NAME_PATTERN), bad("", "streamName", MIN1)
    )
    name = "a" * 129
    assert fails(kin.add_tags_to_stream, StreamName="x", Tags={"a": "1", name: "3"}) == validation(
        bad(
            "{a=1, " + name + "=3}",
            "tags",
            "Map keys must satisfy constraint: [Member must have length less "
            "than or equal to 128, Member must have length greater than or equal to 1]",
        )
    )
    value = "v" * 257
    assert fails(kin.add_tags_to_stream, StreamName="x", Tags={"c": value}) == validation(
        bad(
            "{c=" + value + "}",
            "tags",
            "Map value must satisfy constraint: [Member must have length less "
            "than or equal to 256, Member must have length greater than or equal to 0]",
        )
    )
    assert fails(kin.add_tags_to_stream, StreamName="nope", Tags={"a": "b"}) == not_found("nope")


def test_tag_characters_and_limits(kin):
    make_stream(kin, "s", 1)
    for text in ("abc;def", "abc\tdef", "abc\ndef", "abc,def"):
        assert fails(kin.add_tags_to_stream, StreamName="s", Tags={text: "1"}) == INVALID
        assert fails(kin.add_tags_to_stream, StreamName="s", Tags={"a": text}) == INVALID
        assert fails(kin.remove_tags_from_stream, StreamName="s", TagKeys=[text]) == INVALID
    assert fails(kin.add_tags_to_stream, StreamName="s", Tags={"abc%def": "1"}) == illegal("add")
    assert fails(kin.add_tags_to_stream, StreamName="s", Tags={"a": "abc%def"}) == illegal("add")
    assert fails(kin.remove_tags_from_stream, StreamName="s", TagKeys=["abc%def"]) == illegal("remove")
    assert fails(kin.remove_tags_from_stream, StreamName="nope", TagKeys=[";"]) == not_found("nope")
    kin.add_tags_to_stream(
        StreamName="s", Tags={"a": "a", "ü0 _.": "a", "/=+-@": "a", "b": "ü0 _./=+-@", "c": ""}
    )
    tags = kin.list_tags_for_stream(StreamName="s")["Tags"]
    assert {"Key": "b", "Value": "ü0 _./=+-@"} in tags and {"Key": "c", "Value": ""} in tags
    kin.add_tags_to_stream(StreamName="s", Tags={"a": "b"})
    assert {"Key": "a", "Value": "b"} in kin.list_tags_for_stream(StreamName="s")["Tags"]
    kin.remove_tags_from_stream(StreamName="s", TagKeys=["ü0 _.", "/=+-@", "zz"])
    keys = [t["Key"] for t in kin.list_tags_for_stream(StreamName="s")["Tags"]]
    assert keys == ["a", "b", "c"]
    kin.add_tags_to_stream(StreamName="s", Tags={f"k{i:02}": "v" for i in range(47)})
    assert fails(kin.add_tags_to_stream, StreamName="s", Tags={"one": "more"}) == (
        "InvalidArgumentException",
        f"Failed to add tags to stream s under account {ACCOUNT} because a given "
        "stream cannot have more than 50 tags associated with it.",
    )


def test_remove_and_list_tags_validation(kin):
    assert fails(kin.remove_tags_from_stream) == validation(null("tagKeys"), null("streamName"))
    assert fails(kin.remove_tags_from_stream, StreamName="", TagKeys=[]) == validation(
        bad("[]", "tagKeys", MIN1), bad("", "streamName", NAME_PATTERN), bad("", "streamName", MIN1)
    )
    name = "a" * 129
    assert fails(kin.remove_tags_from_stream, StreamName="x", TagKeys=["a", name, "b"]) == validation(
        bad(
            f"[a, {name}, b]",
            "tagKeys",
            "Member must satisfy constraint: [Member must have length less than "
            "or equal to 128, Member must have length greater than or equal to 1]",
        )
    )
    assert fails(kin.list_tags_for_stream) == validation(null("streamName"))
    assert fails(kin.list_tags_for_stream, StreamName="", ExclusiveStartTagKey="", Limit=0) == validation(
        bad("0", "limit", "Member must have value greater than or equal to 1"),
        bad("", "exclusiveStartTagKey", MIN1),
        bad("", "streamName", NAME_PATTERN),
        bad("", "streamName", MIN1),
    )
    assert fails(
        kin.list_tags_for_stream, StreamName=name, ExclusiveStartTagKey=name, Limit=100
    ) == validation(
        bad("100", "limit", "Member must have value less than or equal to 50"),
        bad(name, "exclusiveStartTagKey", MAX128),
        bad(name, "streamName", MAX128),
    )
    make_stream(kin, "s", 1)
    kin.add_tags_to_stream(StreamName="s", Tags={"a": "1", "b": "2", "c": "3"})
    r = kin.list_tags_for_stream(StreamName="s", Limit=2)
    assert [t["Key"] for t in r["Tags"]] == ["a", "b"] and r["HasMoreTags"] is True
    r = kin.list_tags_for_stream(StreamName="s", ExclusiveStartTagKey="b")
    assert [t["Key"] for t in r["Tags"]] == ["c"] and r["HasMoreTags"] is False


def test_resource_policy_crud(kin):
    make_stream(kin, "s", 1)
    arn = kin.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    assert json.loads(kin.get_resource_policy(ResourceARN=arn)["Policy"]) == {}
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowCrossAccountWrite",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kinesis:PutRecord",
                "Resource": arn,
            }
        ],
    }
    kin.put_resource_policy(ResourceARN=arn, Policy=json.dumps(policy))
    assert json.loads(kin.get_resource_policy(ResourceARN=arn)["Policy"]) == policy
    kin.delete_resource_policy(ResourceARN=arn)
    assert json.loads(kin.get_resource_policy(ResourceARN=arn)["Policy"]) == {}
    missing = arn.replace(":stream/s", ":stream/nope")
    assert fails(kin.get_resource_policy, ResourceARN=missing) == not_found("nope")
