from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apishield.checks import transport
from apishield.checks.registry import CheckContext
from apishield.checks.transport import check_plain_http, forwarded_proto, is_internal
from apishield.exchange import Actor, Exchange, Severity
from apishield.ingest import IngestStats, read_exchanges
from apishield.testing import make_exchange


def request(
    scheme: str = "http",
    headers: dict[str, str] | None = None,
    peer_ip: str = "203.0.113.7",
) -> Exchange:
    exchange = make_exchange("GET", "/v1/accounts", headers=headers, peer_ip=peer_ip)
    exchange.request.scheme = scheme
    return exchange


def test_plain_http_from_a_client_is_medium() -> None:
    [finding] = check_plain_http(request(), CheckContext())
    assert (finding.rule_id, finding.severity) == ("transport.plain-http", Severity.MEDIUM)
    assert finding.category == "API8:2023"


def test_credentials_in_clear_are_high() -> None:
    exchange = request(headers={"authorization": "Basic dXNlcjpwYXNz"})
    exchange.actor = Actor(ip="203.0.113.7", auth_scheme="basic")
    [finding] = check_plain_http(exchange, CheckContext())
    assert (finding.rule_id, finding.severity) == ("transport.credentials-in-clear", Severity.HIGH)
    assert finding.evidence == {"scheme": "http", "credentials": "basic"}
    assert "dXNlcjpwYXNz" not in str(finding.evidence)


def test_https_is_fine() -> None:
    assert check_plain_http(request("https"), CheckContext()) == []


def test_the_proxy_reported_protocol_wins() -> None:
    behind_tls = request("http", {"x-forwarded-proto": "https"}, peer_ip="10.0.0.5")
    assert check_plain_http(behind_tls, CheckContext()) == []
    plain = request("http", {"x-forwarded-proto": "http"}, peer_ip="127.0.0.1")
    assert len(check_plain_http(plain, CheckContext())) == 1
    rfc7239 = request("https", {"forwarded": 'for=198.51.100.1;Proto="http", for=10.0.0.1'})
    assert len(check_plain_http(rfc7239, CheckContext())) == 1


@pytest.mark.parametrize("peer", ["127.0.0.1", "10.1.2.3", "172.20.0.4", "192.168.1.9", "::1"])
def test_internal_hops_without_forwarded_protocol_are_not_judged(peer: str) -> None:
    assert check_plain_http(request(peer_ip=peer), CheckContext()) == []


def test_unrecorded_scheme_means_unknown() -> None:
    context = CheckContext(scheme_recorded=False)
    assert check_plain_http(request(), context) == []
    forwarded = request(headers={"x-forwarded-proto": "http"})
    assert len(check_plain_http(forwarded, context)) == 1


def test_forwarded_proto_takes_the_client_hop() -> None:
    assert forwarded_proto({"x-forwarded-proto": "HTTPS, http"}) == "https"
    assert forwarded_proto({"forwarded": "for=1.2.3.4"}) is None
    assert forwarded_proto({}) is None


def test_is_internal() -> None:
    assert is_internal("172.31.255.1")
    assert not is_internal("172.32.0.1")
    assert is_internal("fd12::1")
    assert not is_internal("2001:db8::1")
    assert not is_internal("")


def test_a_log_that_does_not_record_the_scheme_is_not_judged_plain(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(
        b"198.51.100.4 - - [14/Nov/2023:22:13:20 +0000] "
        b'"GET /v1/accounts HTTP/1.1" 200 12 "-" "c"\n'
    )
    (exchange,) = read_exchanges(log, "nginx", stats=IngestStats())
    assert exchange.request.scheme == ""
    assert check_plain_http(exchange, CheckContext()) == []


@given(
    st.ip_addresses().map(str)
    | st.sampled_from(["10", "10.", "172.15.0.1", "172.16.0.1", "172.31.9.9", "1722.16.0.1", ""])
    | st.text(alphabet="0123456789.:abcdef", max_size=16)
)
def test_first_octet_shortcut_changes_nothing(ip: str) -> None:
    expected = (
        ip.lower().startswith(transport._INTERNAL_V6)
        if ":" in ip
        else ip.startswith(transport._INTERNAL_V4)
    )
    assert is_internal(ip) == expected
