"""Order-preserving key encodings: sort like DynamoDB, round-trip, self-delimiting."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tidestream.dynamodb.numbers import normalize
from tidestream.storage.keys import decode_tuple, encode_component, encode_number, encode_tuple, prefix_end

numbers = st.decimals(
    min_value=Decimal("-1e30"), max_value=Decimal("1e30"), allow_nan=False, allow_infinity=False, places=8
).map(lambda d: normalize(str(d)))
big_numbers = st.builds(
    lambda m, e: normalize(f"{m}e{e}"), st.integers(-(10**37), 10**37), st.integers(-90, 88)
)
texts = st.text(max_size=20)
blobs = st.binary(max_size=20)


@given(st.lists(st.one_of(numbers, big_numbers), min_size=2, max_size=30))
def test_numbers_sort_numerically(values):
    by_bytes = sorted(values, key=lambda v: encode_component("N", v))
    assert [Decimal(v) for v in by_bytes] == sorted(Decimal(v) for v in values)


@given(st.lists(texts, min_size=2, max_size=30))
def test_strings_sort_by_utf8_bytes(values):
    assert sorted(values, key=lambda v: encode_component("S", v)) == sorted(values, key=lambda v: v.encode())


@given(st.lists(blobs, min_size=2, max_size=30))
def test_binaries_sort_unsigned(values):
    assert sorted(values, key=lambda v: encode_component("B", v)) == sorted(values)


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("S"), texts),
            st.tuples(st.just("B"), blobs),
            st.tuples(st.just("N"), st.one_of(numbers, big_numbers)),
        ),
        max_size=5,
    )
)
def test_tuples_round_trip(parts):
    encoded = encode_tuple(parts)
    decoded, end = decode_tuple(encoded)
    assert decoded == parts and end == len(encoded)


@given(texts, texts, texts)
def test_component_prefix_ranges(a, b, suffix):
    """Everything that starts with component a sorts inside [enc(a), prefix_end(enc(a)))."""
    ka = encode_component("S", a)
    key = ka + encode_component("S", suffix)
    assert ka <= key < prefix_end(ka)
    other = encode_component("S", b) + encode_component("S", suffix)
    inside = ka <= other < prefix_end(ka)
    assert inside == (a == b)


def test_extreme_numbers():
    for v in [
        "1e-130",
        "-1e-130",
        "9.9999999999999999999999999999999999999e125",
        "-9.9999999999999999999999999999999999999e125",
        "0",
    ]:
        n = normalize(v)
        assert decode_tuple(encode_tuple([("N", n)]))[0] == [("N", n)]


def _decimal_key(canonical: str) -> bytes:
    """The number key as written by every release so far (through Decimal), for comparison."""
    d = Decimal(canonical)
    if not d:
        return b"\x02"
    sign, digits, _ = d.as_tuple()
    while len(digits) > 1 and digits[-1] == 0:
        digits = digits[:-1]
    adjusted = d.adjusted() + 1000
    if not sign:
        return b"\x03" + adjusted.to_bytes(2, "big") + bytes(x + 1 for x in digits) + b"\x00"
    return b"\x01" + (0xFFFF - adjusted).to_bytes(2, "big") + bytes(10 - x for x in digits) + b"\xff"


@given(st.one_of(st.integers(-(10**38) + 1, 10**38 - 1).map(str), numbers, big_numbers))
def test_integer_keys_keep_their_stored_bytes(canonical):
    """Positive integers skip Decimal when encoded: keys already on disk must still match."""
    assert encode_number(canonical) == _decimal_key(canonical)
