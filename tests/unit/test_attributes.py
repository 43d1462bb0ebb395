"""Attribute values, keys, item sizes and consumed capacity.

Expected messages and sizes are DynamoDB's own (as pinned by dynalite's tests against the real
service and by recorded AWS responses), so these tests double as the spec.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidestream.dynamodb import attributes, capacity, keys, sizes
from tidestream.dynamodb.attributes import from_wire_item, from_wire_value
from tidestream.errors import SerializationException, ValidationException

P = "One or more parameter values were invalid: "


def _raises(exc: type, value, message: str) -> None:
    with pytest.raises(exc) as info:
        from_wire_item({"a": value})
    assert info.value.message == message


# =========================================================================== attributes


class TestConversion:
    def test_scalars_are_converted(self):
        item = from_wire_item(
            {
                "s": {"S": "x"},
                "n": {"N": "-0015.789e6"},
                "b": {"B": "AQI="},
                "t": {"BOOL": False},
                "z": {"NULL": True},
            }
        )
        assert item == {
            "s": {"S": "x"},
            "n": {"N": "-15789000"},
            "b": {"B": b"\x01\x02"},
            "t": {"BOOL": False},
            "z": {"NULL": True},
        }

    def test_sets_are_converted(self):
        item = from_wire_item(
            {"ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1.50", "2"]}, "bs": {"BS": ["AQ==", "Ag=="]}}
        )
        assert item == {
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1.5", "2"]},
            "bs": {"BS": [b"\x01", b"\x02"]},
        }

    def test_nested_documents(self):
        wire = {"m": {"M": {"a": {"N": "1.0"}, "l": {"L": [{"B": "Yg=="}, {"M": {}}, {"L": []}]}}}}
        assert from_wire_item(wire) == {
            "m": {"M": {"a": {"N": "1"}, "l": {"L": [{"B": b"b"}, {"M": {}}, {"L": []}]}}}
        }

    def test_already_decoded_binaries_accepted(self):
        assert from_wire_value({"B": b"\x00"}) == {"B": b"\x00"}
        assert from_wire_value({"BS": [b"a", bytearray(b"b")]}) == {"BS": [b"a", b"b"]}

    def test_empty_string_and_binary_allowed_outside_keys(self):
        item = from_wire_item({"s": {"S": ""}, "b": {"B": ""}, "ss": {"SS": [""]}, "bs": {"BS": [""]}})
        assert item == {"s": {"S": ""}, "b": {"B": b""}, "ss": {"SS": [""]}, "bs": {"BS": [b""]}}

    def test_long_numbers_normalized(self):
        item = from_wire_item(
            {
                "b": {"N": "0000012345678901234567890123456789012345678"},
                "c": {"N": "-00001.23456789012345678901234567890123456780000"},
                "d": {"N": "0009.99999999999999999999999999999999999990000e125"},
                "f": {"N": "0001.000e-130"},
            }
        )
        assert item["b"] == {"N": "12345678901234567890123456789012345678"}
        assert item["c"] == {"N": "-1.2345678901234567890123456789012345678"}
        assert item["d"] == {"N": "9" * 38 + "0" * 88}
        assert item["f"] == {"N": "0." + "0" * 129 + "1"}

    def test_canonical_values_are_reused_not_copied(self):
        s, n, ss = {"S": "x"}, {"N": "12.5"}, {"SS": ["a"]}
        out = from_wire_item({"s": s, "n": n, "ss": ss})
        assert out["s"] is s and out["n"] is n and out["ss"] is ss
        assert from_wire_value({"N": "12.50"}) == {"N": "12.5"}

    def test_negative_zero_normalized(self):
        assert from_wire_value({"N": "-0"}) == {"N": "0"}
        assert from_wire_value({"N": "-0.0"}) == {"N": "0"}

    def test_null_members_ignored(self):
        assert from_wire_value({"S": "a", "N": None}) == {"S": "a"}

    def test_type_of(self):
        assert attributes.type_of({"NS": ["1"]}) == "NS"


class TestValidationMessages:
    @pytest.mark.parametrize(
        "value", [{}, {"a": ""}, {"S": None}, {"M": {"a": {}}}, {"L": [{}]}, {"L": [{"a": {}}]}]
    )
    def test_empty_attribute_value(self, value):
        _raises(ValidationException, value, attributes.MSG_EMPTY)

    def test_multiple_datatypes(self):
        _raises(
            ValidationException,
            {"S": "a", "N": "1"},
            "Supplied AttributeValue has more than one datatypes set, "
            "must contain exactly one of the supported datatypes",
        )

    @pytest.mark.parametrize(
        "value,message",
        [
            ({"NULL": False}, "Null attribute value types must have the value of true"),
            ({"SS": []}, "An string set  may not be empty"),
            ({"NS": []}, "An number set  may not be empty"),
            ({"BS": []}, "Binary sets should not be empty"),
            ({"SS": ["a", "a"]}, "Input collection [a, a] contains duplicates."),
            ({"SS": ["a", "b", "a"]}, "Input collection [a, b, a] contains duplicates."),
            ({"BS": ["Yg==", "Yg=="]}, "Input collection [Yg==, Yg==]of type BS contains duplicates."),
            ({"BS": [b"b", b"b"]}, "Input collection [Yg==, Yg==]of type BS contains duplicates."),
        ],
    )
    def test_invalid_values(self, value, message):
        _raises(ValidationException, value, P + message)

    @pytest.mark.parametrize(
        "value,message",
        [
            ({"S": "", "N": ""}, "The parameter cannot be converted to a numeric value"),
            ({"S": "a", "N": ""}, "The parameter cannot be converted to a numeric value"),
            ({"S": "a", "N": "b"}, "The parameter cannot be converted to a numeric value: b"),
            ({"NS": ["1", ""]}, "The parameter cannot be converted to a numeric value"),
            ({"NS": ["1", "b"]}, "The parameter cannot be converted to a numeric value: b"),
            ({"NS": ["1", "1"]}, "Input collection contains duplicates"),
            ({"NS": ["1", "1.0"]}, "Input collection contains duplicates"),
            (
                {"N": "123456789012345678901234567890123456789"},
                "Attempting to store more than 38 significant digits in a Number",
            ),
            (
                {"N": "-1.23456789012345678901234567890123456789"},
                "Attempting to store more than 38 significant digits in a Number",
            ),
            (
                {"N": "1e126"},
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ),
            (
                {"N": "-1e126"},
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ),
            (
                {"N": "1e-131"},
                "Number underflow. Attempting to store a number with magnitude smaller than supported range",
            ),
            (
                {"N": "-1e-131"},
                "Number underflow. Attempting to store a number with magnitude smaller than supported range",
            ),
        ],
    )
    def test_numbers(self, value, message):
        _raises(ValidationException, value, message)

    @pytest.mark.parametrize(
        "value,message",
        [
            ({"M": {"x": {"NULL": False}}}, P + "Null attribute value types must have the value of true"),
            ({"L": [{"S": "ok"}, {"SS": []}]}, P + "An string set  may not be empty"),
            ({"M": {"x": {"L": [{"N": "x1"}]}}}, "The parameter cannot be converted to a numeric value: x1"),
            ({"L": [{"S": "a", "BOOL": True}]}, attributes.MSG_MULTIPLE),
        ],
    )
    def test_nested_values_checked(self, value, message):
        _raises(ValidationException, value, message)

    def test_member_checked_before_count(self):
        # a bad member wins over "more than one datatypes"
        _raises(
            ValidationException,
            {"NULL": False, "S": "a"},
            P + "Null attribute value types must have the value of true",
        )


class TestSerialization:
    @pytest.mark.parametrize(
        "value,message",
        [
            (
                {"B": "abc"},
                "'abc' can not be converted to a Blob: Base64 encoded length is expected "
                "a multiple of 4 bytes but found: 3",
            ),
            ({"B": "ab!d"}, "'ab!d' can not be converted to a Blob: Invalid Base64 character: '!'"),
            ({"B": "a=bc"}, "'a=bc' can not be converted to a Blob: Invalid Base64 character: '='"),
            (
                {"B": "YR=="},
                "'YR==' can not be converted to a Blob: Invalid last non-pad Base64 character dectected",
            ),
            (
                {"BS": ["Yg==", "abc"]},
                "'abc' can not be converted to a Blob: Base64 encoded length "
                "is expected a multiple of 4 bytes but found: 3",
            ),
        ],
    )
    def test_bad_base64(self, value, message):
        _raises(SerializationException, value, message)

    @pytest.mark.parametrize(
        "value,message",
        [
            (
                {"S": 1},
                "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be "
                "converted to an String",
            ),
            ({"S": True}, "class java.lang.Boolean can not be converted to an String"),
            ({"S": ["a"]}, "Start of list found where not expected"),
            ({"S": {"a": 1}}, "Start of structure or map found where not expected."),
            (
                {"BOOL": 1},
                "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be "
                "converted to an Boolean",
            ),
            ({"SS": "a"}, "Expected list or null"),
            ({"L": {}}, "Start of structure or map found where not expected."),
            ({"M": []}, "Start of list found where not expected"),
            ({"M": "x"}, "Expected map or null"),
            (
                {"B": 5},
                "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be "
                "converted to a Blob",
            ),
            ("x", "Expected null"),
            ([], "Start of list found where not expected"),
        ],
    )
    def test_wrong_json_types(self, value, message):
        _raises(SerializationException, value, message)

    def test_base64_roundtrip_of_valid_values(self):
        for raw in (b"", b"a", b"ab", b"abc", bytes(range(256))):
            text = base64.b64encode(raw).decode()
            assert attributes.decode_binary(text) == raw


@given(
    st.recursive(
        st.one_of(
            st.text().map(lambda s: {"S": s}),
            st.booleans().map(lambda b: {"BOOL": b}),
            st.integers(-(10**30), 10**30).map(lambda i: {"N": str(i)}),
            st.binary().map(lambda b: {"B": base64.b64encode(b).decode()}),
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda items: {"L": items}),
            st.dictionaries(st.text(max_size=5), inner, max_size=4).map(lambda m: {"M": m}),
        ),
        max_leaves=12,
    )
)
def test_valid_values_always_convert(value):
    out = from_wire_value(value)
    assert attributes.type_of(out) == attributes.type_of(value)
    assert from_wire_value(out) == out  # internal form is a fixed point


# =========================================================================== sizes


class TestSizes:
    @pytest.mark.parametrize(
        "number,size",
        [
            ("0", 1),
            ("1", 2),
            ("-1", 3),
            ("10", 2),
            ("12", 2),
            ("100", 2),
            ("1.2", 3),
            ("12.3456", 4),
            ("0.5", 2),
            ("0.05", 2),
            ("0.123", 3),
            ("-12.3456", 5),
            ("1" + "0" * 125, 2),
            ("11" + "0" * 124, 2),
            ("11111" + "0" * 121, 4),
            ("111111" + "0" * 120, 4),
            ("1111111" + "0" * 119, 5),
            ("1" * 38 + "0" * 88, 20),
        ],
    )
    def test_number_sizes(self, number, size):
        # the large ones are the values dynalite's item-limit tests pin against real DynamoDB
        assert sizes.number_size(number) == size

    def test_aws_doc_rules(self):
        assert sizes.item_size({"name": {"S": "abc"}}) == 4 + 3
        assert sizes.item_size({"n": {"S": "é"}}) == 1 + 2  # UTF-8 bytes
        assert sizes.item_size({"é": {"S": ""}}) == 2
        assert sizes.item_size({"b": {"B": b"\x00\x01"}}) == 1 + 2
        assert sizes.item_size({"t": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
        assert sizes.item_size({"l": {"L": []}, "m": {"M": {}}}) == (1 + 3) * 2
        # 3 bytes overhead + 1 per element + element sizes (+ names for maps)
        assert sizes.item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
        assert sizes.item_size({"m": {"M": {"k": {"S": "ab"}}}}) == 1 + 3 + 1 + 1 + 2
        assert (
            sizes.item_size(
                {"ss": {"SS": ["a", "bc"]}, "bs": {"BS": [b"a", b"bc"]}, "ns": {"NS": ["1", "12.3456"]}}
            )
            == 2 + 3 + 2 + 3 + 2 + 6
        )

    def test_dynalite_capacity_items(self):
        # 1 WCU at exactly 1024 bytes, 2 WCU at 1025 (dynalite's tests against DynamoDB)
        a = "x" * 10
        small = {
            "a": {"S": a},
            "b": {"S": "b" * (1009 - len(a))},
            "c": {"N": "12.3456"},
            "d": {"B": b"\x01\x02"},
            "e": {"BS": [b"\x01\x02", b"\x02", b"\x01"]},
        }
        large = {
            "a": {"S": a},
            "b": {"S": "b" * (1011 - len(a))},
            "c": {"N": "12.3456"},
            "d": {"B": b"\x01\x02"},
            "e": {"BS": [b"\x01\x02", b"\x02"]},
        }
        assert sizes.item_size(small) == 1024
        assert sizes.item_size(large) == 1025
        assert capacity.item_write_units(None, small) == 1
        assert capacity.item_write_units(None, large) == 2

    def test_item_limit(self):
        key = "k" * 10
        just_fits = {"a": {"S": key}, "b": {"S": "a" * (sizes.MAX_ITEM_SIZE - len(key) - 2)}}
        assert sizes.check_item_size(just_fits) == 409600
        too_big = {"a": {"S": key}, "b": {"S": "a" * (sizes.MAX_ITEM_SIZE - len(key) - 1)}}
        with pytest.raises(ValidationException) as info:
            sizes.check_item_size(too_big)
        assert info.value.message == "Item size has exceeded the maximum allowed size"

    def test_item_limit_with_numbers(self):
        key = "k" * 10
        c = "1111111" + "0" * 119
        fits = {"a": {"S": key}, "b": {"S": "a" * (409600 - len(key) - 14)}, "c": {"N": c}, "d": {"N": c}}
        assert sizes.check_item_size(fits) == 409600

    def test_value_size(self):
        assert sizes.value_size({"S": "abc"}) == 3
        assert sizes.value_size({"M": {"a": {"NULL": True}}}) == 3 + 1 + 1 + 1


# =========================================================================== keys

HASH_TABLE = keys.table_schema([("pk", "HASH")], {"pk": "S"})
RANGE_TABLE = keys.table_schema(
    [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
        {"AttributeName": "gsi_pk", "AttributeType": "S"},
        {"AttributeName": "lsi_sk", "AttributeType": "B"},
    ],
    global_indexes=[
        {
            "IndexName": "gsi1",
            "KeySchema": [{"AttributeName": "gsi_pk", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["p"]},
        }
    ],
    local_indexes=[
        {
            "IndexName": "lsi1",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "lsi_sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ],
)
BIN_TABLE = keys.table_schema([("pk", "HASH"), ("sk", "RANGE")], {"pk": "S", "sk": "B"})


def _key_error(fn, *args, **kw) -> str:
    with pytest.raises(ValidationException) as info:
        fn(*args, **kw)
    return info.value.message


class TestKeyArgument:
    @pytest.mark.parametrize(
        "key",
        [
            {},
            {"b": {"S": "a"}},
            {"pk": {"S": "a"}, "b": {"S": "a"}},
            {"pk": {"B": b"ab"}},
            {"pk": {"N": "1"}},
            {"pk": {"BOOL": True}},
            {"pk": {"NULL": True}},
            {"pk": {"SS": ["a"]}},
            {"pk": {"NS": ["1"]}},
            {"pk": {"BS": [b"a"]}},
            {"pk": {"M": {}}},
            {"pk": {"L": []}},
        ],
    )
    def test_schema_mismatch(self, key):
        assert _key_error(keys.validate_key, key, HASH_TABLE) == keys.MSG_SCHEMA_MISMATCH

    def test_missing_range_key(self):
        assert _key_error(keys.validate_key, {"pk": {"S": "a"}}, RANGE_TABLE) == keys.MSG_SCHEMA_MISMATCH

    def test_valid_key_returned(self):
        key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        assert keys.validate_key(key, RANGE_TABLE) is key

    def test_empty_string_key(self):
        assert _key_error(keys.validate_key, {"pk": {"S": ""}}, HASH_TABLE) == (
            "One or more parameter values are not valid. The AttributeValue for a key attribute "
            "cannot contain an empty string value. Key: pk"
        )

    def test_empty_binary_key(self):
        assert _key_error(keys.validate_key, {"pk": {"S": "a"}, "sk": {"B": b""}}, BIN_TABLE) == (
            "One or more parameter values are not valid. The AttributeValue for a key attribute "
            "cannot contain an empty binary value. Key: sk"
        )

    def test_empty_reported_before_count(self):
        msg = _key_error(keys.validate_key, {"pk": {"S": ""}, "x": {"S": "a"}}, HASH_TABLE)
        assert msg.endswith("empty string value. Key: pk")

    def test_key_sizes(self):
        assert keys.validate_key({"pk": {"S": "a" * 2048}}, HASH_TABLE)
        assert _key_error(keys.validate_key, {"pk": {"S": "a" * 2049}}, HASH_TABLE) == (
            P + "Size of hashkey has exceeded the maximum size limit of2048 bytes"
        )
        assert _key_error(keys.validate_key, {"pk": {"S": "é" * 1025}}, HASH_TABLE) == (
            P + "Size of hashkey has exceeded the maximum size limit of2048 bytes"
        )
        assert keys.validate_key({"pk": {"S": "a"}, "sk": {"B": b"a" * 1024}}, BIN_TABLE)
        assert _key_error(keys.validate_key, {"pk": {"S": "a"}, "sk": {"B": b"a" * 1025}}, BIN_TABLE) == (
            P + "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
        )
        # numbers are never too big
        assert keys.validate_key({"pk": {"S": "a"}, "sk": {"N": "1" * 38}}, RANGE_TABLE)


class TestItemKeys:
    @pytest.mark.parametrize("item", [{}, {"b": {"S": "a"}}])
    def test_missing_key(self, item):
        assert _key_error(keys.validate_item_keys, item, HASH_TABLE) == (P + "Missing the key pk in the item")

    def test_missing_range_key(self):
        assert _key_error(keys.validate_item_keys, {"pk": {"S": "a"}}, RANGE_TABLE) == (
            P + "Missing the key sk in the item"
        )

    @pytest.mark.parametrize(
        "value",
        [
            {"B": b"ab"},
            {"N": "1"},
            {"BOOL": True},
            {"NULL": True},
            {"SS": ["a"]},
            {"NS": ["1"]},
            {"BS": [b"a"]},
            {"M": {}},
            {"L": []},
        ],
    )
    def test_type_mismatch(self, value):
        t = next(iter(value))
        assert _key_error(keys.validate_item_keys, {"pk": value}, HASH_TABLE) == (
            P + f"Type mismatch for key pk expected: S actual: {t}"
        )

    def test_batch_write_reports_schema_mismatch(self):
        for item in ({"pk": {"N": "5"}}, {"pk": {"L": []}}, {"x": {"S": "a"}}):
            assert (
                _key_error(keys.validate_item_keys, item, HASH_TABLE, schema_mismatch=True)
                == keys.MSG_SCHEMA_MISMATCH
            )

    def test_empty_keys(self):
        assert _key_error(keys.validate_item_keys, {"pk": {"S": ""}}, HASH_TABLE) == (
            "One or more parameter values are not valid. The AttributeValue for a key attribute "
            "cannot contain an empty string value. Key: pk"
        )
        assert _key_error(keys.validate_item_keys, {"pk": {"S": "a"}, "sk": {"B": b""}}, BIN_TABLE) == (
            "One or more parameter values are not valid. The AttributeValue for a key attribute "
            "cannot contain an empty binary value. Key: sk"
        )

    def test_key_sizes(self):
        assert _key_error(keys.validate_item_keys, {"pk": {"S": "a" * 2049}}, HASH_TABLE) == (
            P + "Size of hashkey has exceeded the maximum size limit of2048 bytes"
        )

    def test_index_type_mismatch(self):
        item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "gsi_pk": {"N": "1"}}
        assert _key_error(keys.validate_item_keys, item, RANGE_TABLE) == (
            P + "Type mismatch for Index Key gsi_pk Expected: S Actual: N IndexName: gsi1"
        )
        item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "lsi_sk": {"S": "x"}}
        assert _key_error(keys.validate_item_keys, item, RANGE_TABLE) == (
            P + "Type mismatch for Index Key lsi_sk Expected: B Actual: S IndexName: lsi1"
        )

    def test_index_empty_values(self):
        item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "gsi_pk": {"S": ""}}
        assert _key_error(keys.validate_item_keys, item, RANGE_TABLE) == (
            "One or more parameter values are not valid. A value specified for a secondary index "
            "key is not supported. The AttributeValue for a key attribute cannot contain an empty "
            "string value. IndexName: gsi1, IndexKey: gsi_pk"
        )
        item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "lsi_sk": {"B": b""}}
        assert _key_error(keys.validate_item_keys, item, RANGE_TABLE).endswith(
            "cannot contain an empty binary value. IndexName: lsi1, IndexKey: lsi_sk"
        )
        item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "gsi_pk": {"S": ""}}
        assert _key_error(keys.validate_item_keys, item, RANGE_TABLE, update=True) == (
            "One or more parameter values are not valid. The update expression attempted to update "
            "a secondary index key to a value that is not supported. The AttributeValue for a key "
            "attribute cannot contain an empty string value."
        )

    def test_empty_values_checked_before_types(self):
        item = {"pk": {"S": "a"}, "sk": {"S": "wrong"}, "gsi_pk": {"S": ""}}
        assert "IndexName: gsi1" in _key_error(keys.validate_item_keys, item, RANGE_TABLE)

    def test_index_check_order_last_declared_first(self):
        table = keys.table_schema(
            [("pk", "HASH")],
            {"pk": "S", "x": "S"},
            global_indexes=[
                {"IndexName": "first", "KeySchema": [("x", "HASH")]},
                {"IndexName": "second", "KeySchema": [("x", "HASH")]},
            ],
        )
        msg = _key_error(keys.validate_item_keys, {"pk": {"S": "a"}, "x": {"N": "1"}}, table)
        assert msg.endswith("IndexName: second")

    def test_valid_item_and_sparse_index_attributes(self):
        keys.validate_item_keys({"pk": {"S": "a"}, "sk": {"N": "1"}, "other": {"S": ""}}, RANGE_TABLE)
        keys.validate_item_keys({"pk": {"S": "a"}}, keys.key_schema([("pk", "HASH")], {"pk": "S"}))


class TestKeyExtraction:
    ITEM = {"pk": {"S": "a"}, "sk": {"N": "1"}, "gsi_pk": {"S": "g"}, "p": {"S": "x"}, "q": {"S": "y"}}

    def test_extract_key(self):
        assert keys.extract_key(self.ITEM, RANGE_TABLE) == {"pk": {"S": "a"}, "sk": {"N": "1"}}
        assert keys.extract_key({"pk": {"S": "a"}, "z": {"N": "1"}}, HASH_TABLE) == {"pk": {"S": "a"}}
        assert keys.key_values(self.ITEM, RANGE_TABLE) == ("a", "1")

    def test_index_key_and_projection(self):
        gsi = RANGE_TABLE.index("gsi1")
        lsi = RANGE_TABLE.index("lsi1")
        assert gsi is not None and gsi.is_global and gsi.kind == "GlobalSecondaryIndexes"
        assert lsi is not None and not lsi.is_global
        assert keys.index_key(self.ITEM, gsi) == {"gsi_pk": {"S": "g"}}
        assert keys.index_key(self.ITEM, lsi) is None  # sparse: no lsi_sk
        assert keys.project(self.ITEM, gsi) == {
            "pk": {"S": "a"},
            "sk": {"N": "1"},
            "gsi_pk": {"S": "g"},
            "p": {"S": "x"},
        }
        assert keys.index_entry(None, gsi) is None
        assert RANGE_TABLE.index("nope") is None
        assert RANGE_TABLE.indexes == (gsi, lsi)


# =========================================================================== capacity


class TestUnits:
    def test_write_units(self):
        assert capacity.write_units(0) == 1
        assert capacity.write_units(1024) == 1
        assert capacity.write_units(1025) == 2
        assert capacity.write_units(3500) == 4

    def test_read_units(self):
        assert capacity.read_units(0, True) == 1.0
        assert capacity.read_units(3500, True) == 1.0
        assert capacity.read_units(3500) == 0.5
        assert capacity.read_units(4097, True) == 2.0
        assert capacity.read_units(10 * 1024, True) == 3.0  # 10 KB rounds to 12 KB (AWS docs)
        assert capacity.read_units(8 * 1024) == 1.0

    def test_item_units(self):
        big = {"a": {"S": "x" * 2000}}
        small = {"a": {"S": "x"}}
        assert capacity.item_write_units(None, None) == 1
        assert capacity.item_write_units(big, small) == 2  # larger of old and new
        assert capacity.item_write_units(small, big, transactional=True) == 4
        assert capacity.item_read_units(None) == 0.5
        assert capacity.item_read_units(None, True) == 1.0
        assert capacity.item_read_units({"a": {"S": "x" * 5000}}, True) == 2.0
        assert capacity.item_read_units(small, transactional=True) == 2.0

    def test_query_units_sum_then_round(self):
        # two 1.5 KB items: 3 KB in total -> one unit, unlike BatchGetItem (one per item)
        assert capacity.query_read_units(2 * 1536, True) == 1.0
        assert capacity.query_read_units(2 * 1536) == 0.5
        assert capacity.query_read_units(0) == 0.5


class TestIndexWrites:
    GSI = RANGE_TABLE.index("gsi1")
    BASE = {"pk": {"S": "a"}, "sk": {"N": "1"}}

    def item(self, **extra):
        return {**self.BASE, **extra}

    def test_not_in_index(self):
        assert capacity.index_write_units(None, self.item(), self.GSI) == 0
        assert capacity.index_write_units(self.item(), self.item(q={"S": "z"}), self.GSI) == 0

    def test_insert_and_delete(self):
        new = self.item(gsi_pk={"S": "g"})
        assert capacity.index_write_units(None, new, self.GSI) == 1
        assert capacity.index_write_units(new, None, self.GSI) == 1
        assert capacity.index_write_units(new, self.item(), self.GSI) == 1

    def test_unchanged_entry_costs_nothing(self):
        old = self.item(gsi_pk={"S": "g"}, p={"S": "1"})
        assert capacity.index_write_units(old, dict(old), self.GSI) == 0
        # a change to a non-projected attribute leaves the stored entry as it was
        assert capacity.index_write_units(old, {**old, "q": {"S": "new"}}, self.GSI) == 0

    def test_projected_change_and_key_move(self):
        old = self.item(gsi_pk={"S": "g"}, p={"S": "1"})
        assert capacity.index_write_units(old, {**old, "p": {"S": "2"}}, self.GSI) == 1
        assert capacity.index_write_units(old, {**old, "gsi_pk": {"S": "h"}}, self.GSI) == 2

    def test_large_entries(self):
        new = self.item(gsi_pk={"S": "g"}, p={"S": "x" * 3000})
        assert capacity.index_write_units(None, new, self.GSI) == 3

    def test_by_index(self):
        new = self.item(gsi_pk={"S": "g"}, lsi_sk={"B": b"1"})
        assert capacity.index_write_units_by_index(None, new, RANGE_TABLE) == ({"gsi1": 1}, {"lsi1": 1})


class TestConsumedCapacityShape:
    def test_none(self):
        assert capacity.consumed_capacity(None, "t", 1) is None
        assert capacity.consumed_capacity("NONE", "t", 1) is None
        assert not capacity.wants_capacity("NONE") and capacity.wants_capacity("INDEXES")

    def test_total(self):
        out = capacity.consumed_capacity("TOTAL", "t", 1)
        assert out == {"TableName": "t", "CapacityUnits": 1.0}
        assert isinstance(out["CapacityUnits"], float)

    def test_indexes_without_indexes(self):
        assert capacity.consumed_capacity("INDEXES", "t", 0.5) == {
            "TableName": "t",
            "CapacityUnits": 0.5,
            "Table": {"CapacityUnits": 0.5},
        }

    def test_indexes_with_indexes(self):
        out = capacity.consumed_capacity("INDEXES", "t", 1, gsis={"g": 1}, lsis={"l": 2})
        assert out == {
            "TableName": "t",
            "CapacityUnits": 4.0,
            "Table": {"CapacityUnits": 1.0},
            "GlobalSecondaryIndexes": {"g": {"CapacityUnits": 1.0}},
            "LocalSecondaryIndexes": {"l": {"CapacityUnits": 2.0}},
        }
        # TOTAL still counts index units
        assert capacity.consumed_capacity("TOTAL", "t", 1, gsis={"g": 1}) == {
            "TableName": "t",
            "CapacityUnits": 2.0,
        }

    def test_transactional_split(self):
        out = capacity.consumed_capacity("INDEXES", "t", 4, split="WriteCapacityUnits")
        assert out == {
            "TableName": "t",
            "CapacityUnits": 4.0,
            "WriteCapacityUnits": 4.0,
            "Table": {"CapacityUnits": 4.0, "WriteCapacityUnits": 4.0},
        }
        assert capacity.consumed_capacity("TOTAL", "t", 2, split="ReadCapacityUnits") == {
            "TableName": "t",
            "CapacityUnits": 2.0,
            "ReadCapacityUnits": 2.0,
        }

    def test_accumulator(self):
        acc = capacity.Consumed("t")
        new = {"pk": {"S": "a"}, "sk": {"N": "1"}, "gsi_pk": {"S": "g"}}
        acc.add_write(None, new, RANGE_TABLE)
        acc.add_write(new, {**new, "gsi_pk": {"S": "h"}}, RANGE_TABLE)
        assert acc.table == 2 and acc.gsis == {"gsi1": 3} and acc.total == 5
        assert acc.render("INDEXES") == {
            "TableName": "t",
            "CapacityUnits": 5.0,
            "Table": {"CapacityUnits": 2.0},
            "GlobalSecondaryIndexes": {"gsi1": {"CapacityUnits": 3.0}},
        }
        assert acc.render("NONE") is None
        reads = capacity.Consumed("t")
        reads.add_table(0.5)
        reads.add_index("lsi1", 0.5, False)
        assert reads.render("TOTAL") == {"TableName": "t", "CapacityUnits": 1.0}
