import json
import logging
import sys

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


def nameko_record(message: str) -> logging.LogRecord:
    try:
        raise ValueError("wrong password")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("nameko.containers", logging.WARNING, __file__, 1, message, ("worker", "boom"), exc_info)
    _ServiceFilter("accounts").filter(record)
    return record


def test_expected_rpc_error_logged_without_traceback():
    line = JsonFormatter().format(nameko_record("(expected) error handling worker %s: %s"))
    assert "Traceback" not in line
    assert json.loads(line)["msg"] == "(expected) error handling worker worker: boom"


def test_unexpected_rpc_error_keeps_traceback():
    line = JsonFormatter().format(nameko_record("error handling worker %s: %s"))
    assert "Traceback" in line
