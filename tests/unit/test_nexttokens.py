"""The NextToken codec keeps each service's wire form, so tokens issued before still work."""

from __future__ import annotations

import pytest

from tidestream import nexttokens

SECRET = b"k" * 32
LIST_SHARDS = {
    "arn": "arn:aws:kinesis:us-east-1:000000000000:stream/s",
    "f": None,
    "x": 7,
    "t": 1700000000000,
}
# tokens as the per-service codecs before this module wrote them
PINNED = [
    ({"after": "s1"}, {}, "eyJhZnRlciI6InMxIn0="),  # Kinesis ListStreams
    (
        {"s": 3, "a": "c?", "t": 1700000000000},
        {},
        "eyJzIjozLCJhIjoiYz8iLCJ0IjoxNzAwMDAwMDAwMDAwfQ==",
    ),  # consumers
    (
        LIST_SHARDS,
        {"secret": SECRET},
        "eyJhcm4iOiJhcm46YXdzOmtpbmVzaXM6dXMtZWFzdC0xOjAwMDAwMDAwMDAwMDpzdHJlYW0vcyIsImYiOm51bGwsIngiOjcsInQiOj"
        "E3MDAwMDAwMDAwMDB9G_XvQkRmoB02Xqzy",
    ),
    (
        {"f": "abc", "r": 0, "k": "Af8="},
        {"urlsafe": False},
        "eyJmIjoiYWJjIiwiciI6MCwiayI6IkFmOD0ifQ==",
    ),  # PartiQL
]


@pytest.mark.parametrize("fields, options, token", PINNED)
def test_wire_form_is_unchanged(fields, options, token):
    assert nexttokens.encode(fields, **options) == token
    assert nexttokens.decode(token, **options) == fields


def test_an_edited_signed_token_is_refused():
    token = nexttokens.encode(LIST_SHARDS, secret=SECRET)
    edited = nexttokens.encode({**LIST_SHARDS, "x": 8})[: len(token) - 16] + token[-16:]
    for bad in (edited, token[:-4], nexttokens.encode(LIST_SHARDS)):
        with pytest.raises(nexttokens.BadToken):
            nexttokens.decode(bad, secret=SECRET)
    with pytest.raises(nexttokens.BadToken):
        nexttokens.decode(token, secret=b"other" * 8)


@pytest.mark.parametrize("token", ["", "%%%", "bm90IGpzb24=", "WzEsMl0=", "\udcff", 5, None])
def test_garbage_is_a_bad_token(token):
    """Empty, not base64, not JSON, a JSON list, unencodable text, not a string."""
    with pytest.raises(nexttokens.BadToken):
        nexttokens.decode(token)
    with pytest.raises(nexttokens.BadToken):
        nexttokens.decode(token, urlsafe=False)
