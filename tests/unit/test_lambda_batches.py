"""How a stream mapping judges a batch's outcome: AWS's partial batch response rules, window
responses, maximum record age. Pure functions of the poller, fed real outcomes' shapes."""

from __future__ import annotations

import orjson

from tidestream.lambda_.mappings import EventSourceMapping
from tidestream.lambda_.pollers import Item, judge, partial_failure, split_expired
from tidestream.lambda_.sandboxes import Outcome

SEQS = ["100", "200", "300"]


def _mapping(**kw) -> EventSourceMapping:
    base = dict(
        uuid="u",
        account="000000000000",
        region="us-east-1",
        function_name="fn",
        event_source_arn="arn:aws:kinesis:us-east-1:000000000000:stream/s",
        source_kind="kinesis",
        starting_position="LATEST",
        starting_position_timestamp=None,
        batch_size=10,
        batching_window=0,
        parallelization_factor=1,
        bisect_on_error=False,
        maximum_retry_attempts=-1,
        maximum_record_age=-1,
        tumbling_window=0,
        function_response_types=["ReportBatchItemFailures"],
        filter_criteria=None,
        destination_config={},
        enabled=True,
        state="Enabled",
        created=0.0,
        last_modified=0.0,
    )
    return EventSourceMapping(**{**base, **kw})


def _items() -> list[Item]:
    return [Item(s, 1000.0 + n, "k", {}) for n, s in enumerate(SEQS)]


def test_empty_or_null_responses_are_success():
    for response in (None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, "text", 7):
        assert partial_failure(response, SEQS) is None, response


def test_restart_from_the_lowest_reported_failure():
    response = {"batchItemFailures": [{"itemIdentifier": "300"}, {"itemIdentifier": "200"}]}
    assert partial_failure(response, SEQS) == 1


def test_bad_item_identifiers_fail_the_whole_batch():
    for failures in (
        [{"itemIdentifier": ""}],
        [{"itemIdentifier": None}],
        [{"itemId": "200"}],  # a bad key name
        [{"itemIdentifier": "999"}],  # not a record of this batch
        [{"itemIdentifier": "300"}, {}],
        "300",
    ):
        assert partial_failure({"batchItemFailures": failures}, SEQS) == 0, failures


def test_judge_function_errors_and_partial_responses():
    mapping = _mapping()
    error = Outcome(b'{"errorType": "ValueError"}', "Unhandled", "")
    assert judge(error, _items(), mapping, False) == ("failed", None, None)
    partial = Outcome(orjson.dumps({"batchItemFailures": [{"itemIdentifier": "200"}]}), None, "")
    assert judge(partial, _items(), mapping, False) == ("failed", 1, None)
    plain = _mapping(function_response_types=[])
    assert judge(partial, _items(), plain, False) == ("ok", None, None)  # not asked to report: success


def test_a_windowed_response_must_carry_state():
    mapping = _mapping(function_response_types=[], tumbling_window=60)
    assert judge(Outcome(b"{}", None, ""), _items(), mapping, True) == ("failed", None, None)
    assert judge(Outcome(b'{"state": {"n": 3}}', None, ""), _items(), mapping, True) == ("ok", None, {"n": 3})


def test_records_past_maximum_record_age_are_split_off():
    expired, kept = split_expired(_items(), now=1061.5, max_age=60)
    assert [i.sequence for i in expired] == ["100", "200"]  # arrived 1000 and 1001: older than 60 s
    assert [i.sequence for i in kept] == ["300"]
    assert split_expired(_items(), now=1010.0, max_age=60) == ([], _items())
