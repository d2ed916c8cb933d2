import pytest

from apishield.ingest.fieldmap import (
    ABSENT,
    DEFAULT_FIELDS,
    flattened,
    make_plan,
    merge_fields,
    search,
)
from apishield.ingest.stats import IngestError
from apishield.ingest.timestamps import event_time


def test_configured_names_come_before_the_defaults() -> None:
    fields = merge_fields({"client_ip": ["clientIp"], "time": "ts_ms"})
    assert fields["client_ip"][0] == "clientIp"
    assert "remote_addr" in fields["client_ip"]
    assert fields["time"][0] == "ts_ms"  # a lone string is one name, not its letters


def test_unknown_field_names_the_closest_and_every_valid_one() -> None:
    with pytest.raises(IngestError) as info:
        merge_fields({"client_addr": ["x"]})
    message = str(info.value)
    assert "unknown field 'client_addr'" in message
    assert "Did you mean 'client_ip'?" in message
    assert "request_uri" in message


def test_plan_picks_the_first_name_present() -> None:
    record = {
        "time_iso8601": "2023-11-14T22:13:20Z",
        "uri": "/x",
        "request_uri": "/x?y",
        "status": 200,
    }
    plan = make_plan(DEFAULT_FIELDS, record)
    assert plan.request_uri == "request_uri"
    assert plan.time == "time_iso8601"
    assert plan.method is ABSENT
    assert not plan.flatten


def test_plan_finds_nginx_header_variables() -> None:
    record = {
        "http_user_agent": "ua",
        "http_x_tenant_id": "t",
        "sent_http_content_type": "a/b",
        "http_version": "1.1",
    }
    plan = make_plan(DEFAULT_FIELDS, record)
    assert ("http_user_agent", "user-agent") in plan.headers
    assert ("http_x_tenant_id", "x-tenant-id") in plan.headers
    assert plan.response_header_keys == (("sent_http_content_type", "content-type"),)
    assert all(name != "version" for _, name in plan.headers)  # http_version is the protocol


def test_dotted_names_reach_into_nested_objects() -> None:
    record = {"request": {"method": "GET", "headers": {"host": "h"}}, "response": {"status": 200}}
    plan = make_plan(DEFAULT_FIELDS, record)
    assert plan.flatten
    assert plan.method == "request.method"
    assert plan.status == "response.status"
    assert plan.request_headers == "request.headers"
    assert plan.read_time is event_time


def test_flattened_keeps_literal_dotted_keys_and_stops_deep() -> None:
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(20):
        deep = {"d": deep}
    out = flattened({"a.b": "literal", "a": {"b": "nested"}, "deep": deep})
    assert out["a.b"] == "literal"
    assert "deep.d.d.d.d.d.d.d" in out
    assert not any(key.count(".") > 8 for key in out)


def test_search_skips_placeholders() -> None:
    fields = merge_fields()
    assert search(fields, {"request_uri": "-", "uri": "/x"}, "request_uri") == "/x"
    assert search(fields, {"request_uri": ""}, "request_uri") is None
