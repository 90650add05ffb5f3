import json
import logging

from loansyncro.logs import JsonFormatter, KeyValueFormatter, _ServiceFilter, correlation_id


def make_record(**extra):
    record = logging.LogRecord("loansyncro.test", logging.WARNING, __file__, 1, "loan %s rejected", ("L1",), None)
    for key, value in extra.items():
        setattr(record, key, value)
    _ServiceFilter("loans").filter(record)
    return record


def test_json_line_carries_service_correlation_and_ids():
    token = correlation_id.set("req-42")
    try:
        line = JsonFormatter().format(make_record(event_id="e-1", stream_id="loan-1"))
    finally:
        correlation_id.reset(token)

    fields = json.loads(line)
    assert fields["service"] == "loans"
    assert fields["correlation_id"] == "req-42"
    assert fields["event_id"] == "e-1"
    assert fields["msg"] == "loan L1 rejected"
    assert fields["level"] == "warning"


def test_key_value_line_quotes_values_with_spaces():
    line = KeyValueFormatter().format(make_record(reason="amount too large"))
    assert 'msg="loan L1 rejected"' in line
    assert 'reason="amount too large"' in line
    assert "service=loans" in line
