from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apishield.checks import transport
from apishield.checks.registry import CheckContext
from apishield.checks.transport import check_plain_http, is_internal
from apishield.config import Config, IdentityConfig
from apishield.engine import Engine
from apishield.exchange import Actor, Exchange, Severity
from apishield.ingest import IngestStats, read_exchanges
from apishield.privacy import Hasher
from apishield.testing import make_exchange


def request(
    scheme: str = "http",
    headers: dict[str, str] | None = None,
    peer_ip: str = "203.0.113.7",
    forwarded_proto: str = "",
) -> Exchange:
    """An exchange as the actor stage leaves it: `forwarded_proto` is what a trusted proxy
    reported, "" when the peer is not one."""
    exchange = make_exchange("GET", "/v1/accounts", headers=headers, peer_ip=peer_ip)
    exchange.request.scheme = scheme
    exchange.actor = Actor(ip=peer_ip, forwarded_proto=forwarded_proto)
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


def test_the_protocol_a_trusted_proxy_reported_wins() -> None:
    behind_tls = request("http", peer_ip="10.0.0.5", forwarded_proto="https")
    assert check_plain_http(behind_tls, CheckContext()) == []
    plain = request("https", peer_ip="127.0.0.1", forwarded_proto="http")
    assert len(check_plain_http(plain, CheckContext())) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"x-forwarded-proto": "https"},
        {"forwarded": "for=203.0.113.7;proto=https"},
        {"x-forwarded-proto": "https", "forwarded": "proto=https"},
    ],
)
def test_a_clients_own_forwarded_protocol_does_not_hide_plain_http(
    headers: dict[str, str],
) -> None:
    # No trusted proxy vouched for it (the actor stage left `forwarded_proto` empty).
    [finding] = check_plain_http(request("http", headers), CheckContext())
    assert finding.evidence == {"scheme": "http"}
    unresolved = request("http", headers)
    unresolved.actor = None
    assert len(check_plain_http(unresolved, CheckContext())) == 1


@pytest.mark.parametrize("peer", ["127.0.0.1", "10.1.2.3", "172.20.0.4", "192.168.1.9", "::1"])
def test_internal_hops_without_forwarded_protocol_are_not_judged(peer: str) -> None:
    assert check_plain_http(request(peer_ip=peer), CheckContext()) == []


def test_unrecorded_scheme_means_unknown() -> None:
    context = CheckContext(scheme_recorded=False)
    assert check_plain_http(request(), context) == []
    assert check_plain_http(request(headers={"x-forwarded-proto": "http"}), context) == []
    forwarded = request(forwarded_proto="http")
    assert len(check_plain_http(forwarded, context)) == 1


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


def _json_log(tmp_path: Path, remote_addr: str, **fields: str) -> Path:
    line = {
        "time_iso8601": "2023-11-14T22:13:20+00:00",
        "remote_addr": remote_addr,
        "request_method": "GET",
        "request_uri": "/v1/accounts",
        "status": "200",
        "http_user_agent": "c",
        **fields,
    }
    log = tmp_path / "access.json"
    log.write_text(json.dumps(line) + "\n", encoding="utf-8")
    return log


def _transport_rules(log: Path, identity: IdentityConfig) -> list[str]:
    engine = Engine(Config(identity=identity), Hasher(b"t" * 32))
    (exchange,) = read_exchanges(log, "nginx-json", stats=IngestStats())
    engine.process(exchange)
    return [f.rule_id for f in exchange.findings if f.rule_id.startswith("transport.")]


def test_a_logged_forwarded_proto_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    lb = IdentityConfig(trusted_proxies=["10.0.0.0/8"])
    # nginx's own `scheme` is what the client used on a direct connection; a client's claim
    # of https in X-Forwarded-Proto does not change it.
    direct = _json_log(tmp_path, "198.51.100.4", scheme="http", http_x_forwarded_proto="https")
    assert _transport_rules(direct, lb) == ["transport.plain-http"]
    assert _transport_rules(direct, IdentityConfig()) == ["transport.plain-http"]
    # Behind the load balancer, what it reported is the client's scheme.
    balanced = _json_log(tmp_path, "10.0.0.5", scheme="http", http_x_forwarded_proto="https")
    assert _transport_rules(balanced, lb) == []
    plain = _json_log(tmp_path, "10.0.0.5", http_x_forwarded_proto="http")
    assert _transport_rules(plain, lb) == ["transport.plain-http"]
    # Without trusted proxies the balancer is just an internal peer: not judged.
    assert _transport_rules(plain, IdentityConfig()) == []


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
