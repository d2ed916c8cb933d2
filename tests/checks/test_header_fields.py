"""Header names and values: the learned set of plain names and the ASCII printability test
change no finding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.checks import header_fields
from apishield.checks.header_fields import check_headers, check_host
from apishield.checks.http_syntax import printable
from apishield.exchange import Finding
from apishield.testing import make_exchange

NAMES = ["host", "accept", "x-request-id", "X-Upper", "bad name", ":authority", "a_b", "é", "if"]
VALUES = ["", " ", "gzip", "text/html; charset=utf-7", "a\r\nb", "x\x00", "%0d%0aSet-Cookie: a", "GET / HTTP/1.1", "é\x85", "\x7f"]  # fmt: skip # noqa: E501
headers = st.dictionaries(
    st.sampled_from(NAMES) | st.text(max_size=6), st.sampled_from(VALUES) | st.text(max_size=8)
)


def findings(headers: dict[str, str]) -> list[Finding]:
    out: list[Finding] = []
    check_headers(headers, out)
    return out


@settings(max_examples=300)
@given(st.lists(headers, min_size=1, max_size=5))
def test_learned_names_change_no_finding(requests: list[dict[str, str]]) -> None:
    """Each request's findings equal those with nothing learned, whatever came before it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        learned: set[str] = set()
        monkeypatch.setattr(header_fields, "_plain_names", learned)
        for request in requests:
            warm = findings(request)
            with pytest.MonkeyPatch.context() as cold:
                cold.setattr(header_fields, "_plain_names", set())
                assert findings(request) == warm


def test_learned_names_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(header_fields, "_PLAIN_NAMES_MAX", 8)
    monkeypatch.setattr(header_fields, "_plain_names", set())
    for n in range(40):
        findings({f"x-{n}": "1", f"y-{n}": "2", "host": "a"})
        assert len(header_fields._plain_names) <= 8
    findings({f"z-{n}": "1" for n in range(20)})  # more names than fit: none learned
    assert len(header_fields._plain_names) <= 8


def test_a_bad_name_is_never_learned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(header_fields, "_plain_names", set())
    for _ in range(2):
        [finding] = findings({"host": "a", "bad name": "1"})
        assert finding.rule_id == "proto.header-chars"
    assert "bad name" not in header_fields._plain_names


@given(st.text() | st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_printable_is_str_isprintable(text: str) -> None:
    assert printable(text) == text.isprintable()


HOSTS = ["api.example.com", " api.example.com ", "", " ", "a,b", "a b", "[::1]:8443", "é.example", "x:99999"]  # fmt: skip # noqa: E501


def host_findings(host: str) -> list[Finding]:
    out: list[Finding] = []
    check_host(make_exchange("GET", "/", headers={"host": host}).request, out)
    return out


@settings(max_examples=300)
@given(st.lists(st.sampled_from(HOSTS) | st.text(max_size=12), min_size=1, max_size=8))
def test_remembered_hosts_change_no_finding(hosts: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(header_fields, "_good_hosts", set())
        for host in hosts:
            warm = host_findings(host)
            with pytest.MonkeyPatch.context() as cold:
                cold.setattr(header_fields, "_good_hosts", set())
                assert host_findings(host) == warm


def test_remembered_hosts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(header_fields, "_GOOD_HOSTS_MAX", 4)
    monkeypatch.setattr(header_fields, "_good_hosts", set())
    for n in range(20):
        assert host_findings(f"api{n}.example.com") == []
        assert 0 < len(header_fields._good_hosts) <= 4
    assert host_findings("a,b") != []
    assert "a,b" not in header_fields._good_hosts
