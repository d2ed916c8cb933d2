"""The protocol check: a hand-written request per technique, and everyday traffic kept silent."""

from __future__ import annotations

from typing import Any

import pytest

from apishield.checks.http_syntax import charset_allowed, parse_media, sample
from apishield.checks.media_types import MediaTypes
from apishield.checks.protocol import check_protocol
from apishield.checks.registry import CheckContext
from apishield.exchange import Exchange, Finding, Severity
from apishield.testing import make_exchange

BASE = {
    "host": "api.example.com",
    "user-agent": "okhttp/4.12.0",
    "accept": "application/json",
    "accept-encoding": "gzip, br",
    "connection": "keep-alive",
}
JSON = b'{"name": "Ada Lovelace", "plan": "unlimited"}'
BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"


def request(
    method: str = "GET",
    path: str = "/v1/customers/42",
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    version: str = "HTTP/1.1",
    base: bool = True,
) -> Exchange:
    merged = {**(BASE if base else {}), **(headers or {})}
    if body is not None and "content-length" not in merged and "transfer-encoding" not in merged:
        merged["content-length"] = str(len(body))
    exchange = make_exchange(method, path, query=query, headers=merged, body=body)
    exchange.request.http_version = version
    return exchange


def exchange_findings(exchange: Exchange, **context: Any) -> list[Finding]:
    return check_protocol(exchange, CheckContext(**context))


def found(exchange: Exchange, **context: Any) -> dict[str, Finding]:
    return {f.rule_id: f for f in exchange_findings(exchange, **context)}


def severity(exchange: Exchange, rule: str, **context: Any) -> Severity:
    findings = found(exchange, **context)
    assert rule in findings, f"{rule} not in {sorted(findings)}"
    return findings[rule].severity


def multipart(*parts: str, boundary: str = BOUNDARY) -> bytes:
    lines = [f"--{boundary}\r\n{part}" for part in parts]
    return ("".join(lines) + f"--{boundary}--\r\n").encode()


def form_part(name: str, value: str = "x", extra: str = "") -> str:
    return f'Content-Disposition: form-data; name="{name}"\r\n{extra}\r\n{value}\r\n'


MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


# --- ordinary traffic ------------------------------------------------------------------------


UPLOAD = multipart(
    form_part("title", "Q3 report"),
    'Content-Disposition: form-data; name="file"; filename="report (final) &#8211; v2.pdf"\r\n'
    "Content-Type: application/pdf\r\n\r\n%PDF-1.7\x00\x01\r\n--not-the-boundary\r\n",
)

ORDINARY = {
    "GET with query": request(query="fields=name,plan&page=2&sort=-created"),
    "GET HTTP/1.0": request(version="HTTP/1.0"),
    "GET HTTP/2": request(version="HTTP/2", headers={"connection": "keep-alive"}),
    "GET unknown version": request(version=""),
    "POST JSON": request("POST", body=JSON, headers={"content-type": "application/json"}),
    "PUT JSON charset": request(
        "PUT", body=JSON, headers={"content-type": "application/json; charset=UTF-8"}
    ),
    "PATCH merge": request(
        "PATCH", body=JSON, headers={"content-type": "application/merge-patch+json"}
    ),
    "DELETE": request("DELETE", headers={"content-length": "0"}),
    "HEAD": request("HEAD"),
    "OPTIONS preflight": request(
        "OPTIONS",
        headers={"origin": "https://app.example.com", "access-control-request-method": "PUT"},
    ),
    "OPTIONS *": request("OPTIONS", "*"),
    "multipart upload": request("POST", "/v1/files", headers=MULTIPART, body=UPLOAD),
    "chunked without Content-Length": request(
        "POST",
        headers={"transfer-encoding": "chunked", "content-type": "application/json"},
        body=JSON,
    ),
    "form with multi-line prose": request(
        "POST",
        headers=FORM,
        body=b"note=Hello%0D%0ALocation%3A+Paris%0D%0AGET+well+soon&rating=5%0A",
    ),
    "typed stray percent in query": request(query="q=100%+sure"),
    "nested URL in a parameter": request(
        query="next=https%3A%2F%2Fapp.example%2Fcb%3Fpath%3D%252Fhome%2526tab%253D2"
    ),
    "range request": request(headers={"range": "bytes=0-1023"}),
    "two ranges": request(headers={"range": "bytes=0-99, 200-299"}),
    "item range": request(headers={"range": "items=0-24"}),
    "LDAP filter as a value": request(query="filter=(%26(objectClass=user)(cn=Ada))"),
    "JSON with HTML-safe escapes": request(
        "POST",
        body=b'{"html": "\\u003cb\\u003ebold\\u003c/b\\u003e"}',
        headers={"content-type": "application/json"},
    ),
    "cookies": request(headers={"cookie": "sid=abc123; theme=dark"}),
    "gzip upload": request(
        "POST",
        body=b"\x1f\x8b\x08\x00",
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    ),
    "access-log POST": request(
        "POST", headers={"user-agent": "curl/8.4.0", "referer": "https://x.example"}, base=False
    ),
    "access-log GET without Host": request(headers={"user-agent": "curl/8.4.0"}, base=False),
    "CONNECT authority-form": request("CONNECT", "api.example.com:443"),
    "override to a non-method": request(
        "POST", query="_method=x-delete", headers={"content-length": "0"}
    ),
    "Shift_JIS form": request(
        "POST",
        headers={"content-type": "application/x-www-form-urlencoded; charset=Shift_JIS"},
        body=b"q=%82%A0",
    ),
}


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_requests_stay_silent(name: str) -> None:
    assert found(ORDINARY[name]) == {}


# --- request line ------------------------------------------------------------------------------


def test_methods() -> None:
    assert severity(request("G<ET"), "proto.method") == Severity.MEDIUM
    assert severity(request("|GET"), "proto.method") == Severity.MEDIUM
    assert severity(request("get"), "proto.method") == Severity.MEDIUM
    assert severity(request("TRACE"), "proto.method") == Severity.MEDIUM
    assert severity(request("SUBSCRIBE"), "proto.method") == Severity.LOW


def test_request_target_and_version() -> None:
    assert "proto.request-target" in found(request(path="http://internal.example"))
    assert "proto.http-version" in found(request(version="HTTP/1.2"))
    assert "proto.http-version" in found(request(version="HTTP/3.2"))


# --- framing -----------------------------------------------------------------------------------


def test_content_length_with_transfer_encoding_is_smuggling() -> None:
    exchange = request(
        "POST", body=b"0\r\n\r\nGET /admin HTTP/1.1\r\n", headers={"transfer-encoding": "chunked"}
    )
    exchange.request.headers["content-length"] = "4"
    assert severity(exchange, "proto.smuggling") == Severity.HIGH


@pytest.mark.parametrize("coding", ["chunked, identity", "xchunked", "chunked, chunked", "cow"])
def test_obfuscated_transfer_encoding(coding: str) -> None:
    exchange = request("POST", body=JSON, headers={"transfer-encoding": coding})
    assert severity(exchange, "proto.smuggling") == Severity.HIGH


def test_transfer_encoding_in_http2_and_http10() -> None:
    headers = {"transfer-encoding": "chunked"}
    http2 = request("POST", body=JSON, headers=headers, version="HTTP/2")
    assert severity(http2, "proto.smuggling") == Severity.HIGH
    http10 = request("POST", body=JSON, headers=headers, version="HTTP/1.0")
    assert severity(http10, "proto.smuggling") == Severity.MEDIUM


def test_conflicting_and_invalid_content_length() -> None:
    conflicting = request("POST", body=JSON, headers={"content-length": "5, 46"})
    assert severity(conflicting, "proto.smuggling") == Severity.HIGH
    for bad in ("+46", "0x2e", "-1", "46 46"):
        exchange = request("POST", body=JSON, headers={"content-length": bad})
        assert severity(exchange, "proto.content-length") == Severity.MEDIUM


def test_body_longer_than_content_length() -> None:
    body = b"a=1GET /admin HTTP/1.1\r\n\r\n"
    exchange = request("POST", body=body, headers={"content-length": "3"})
    assert found(exchange)["proto.content-length"].evidence == {"declared": "3", "seen": "26"}


def test_missing_length_only_counts_on_full_http1_captures() -> None:
    exchange = request("POST", body=b"a=1", headers=FORM)
    del exchange.request.headers["content-length"]
    assert severity(exchange, "proto.content-length") == Severity.LOW
    exchange.request.http_version = "HTTP/2"
    assert "proto.content-length" not in found(exchange)


def test_bodies_on_get_and_head_with_odd_framing() -> None:
    chunked = request(body=b"a=1", headers={"transfer-encoding": "chunked"})
    assert severity(chunked, "proto.get-body") == Severity.MEDIUM
    assert "proto.get-body" in found(request("HEAD", body=b"a=1"))
    unframed = request(body=b"a=1")
    del unframed.request.headers["content-length"]
    assert "proto.get-body" in found(unframed)
    assert "proto.get-body" not in found(request(body=b'{"query": {"match_all": {}}}'))


def test_a_get_body_that_is_not_json_is_reported_low() -> None:
    form = request(body=b"a=1&b=2", headers=FORM)
    assert severity(form, "proto.get-body") == Severity.LOW
    logged = request(body=None, headers={"content-length": "7"})  # an access log: no body kept
    assert severity(logged, "proto.get-body") == Severity.LOW
    declared = request(body=b'{"q": 1}', headers={"content-type": "application/vnd.api+json"})
    assert "proto.get-body" not in found(declared)
    assert "proto.get-body" not in found(request(body=b"", headers={"content-length": "0"}))


@pytest.mark.parametrize("host", ["10.0.0.5:8080", "203.0.113.9", "2130706433", "[::1]:8443"])
def test_a_host_that_is_an_address_is_reported_low_unless_turned_off(host: str) -> None:
    exchange = request(headers={"host": host})
    assert severity(exchange, "proto.numeric-host") == Severity.LOW
    assert found(exchange, numeric_host=False) == {}
    assert "proto.numeric-host" not in found(request(headers={"host": "api.example.com:8443"}))


@pytest.mark.parametrize(
    ("media", "reported"),
    [
        ("application/json", False),
        ("application/merge-patch+json", False),
        ("application/soap+xml; charset=utf-8", False),
        ("multipart/form-data; boundary=x", False),
        ("image/png", False),
        ("text/plain", True),
        ("text/html; charset=utf-8", True),
        ("application/x-java-serialized-object", True),
    ],
)
def test_a_body_of_a_media_type_outside_the_accepted_list_is_reported_low(
    media: str, reported: bool
) -> None:
    exchange = request("POST", body=b"x", headers={"content-type": media, "content-length": "1"})
    titles = {f.title for f in exchange_findings(exchange) if f.rule_id == "proto.content-type"}
    assert ("request body of a media type the API does not take" in titles) is reported


def test_the_accepted_media_types_come_from_the_configuration() -> None:
    headers = {"content-type": "text/plain", "content-length": "1"}
    accepting = MediaTypes(["application/json", "text/*"])
    assert "proto.content-type" not in found(
        request("POST", body=b"x", headers=headers), media_types=accepting
    )
    refusing = MediaTypes(["application/json"])
    exchange = request("POST", body=b"x", headers={**headers, "content-type": "image/png"})
    assert severity(exchange, "proto.content-type", media_types=refusing) == Severity.LOW


# --- headers -----------------------------------------------------------------------------------


def test_missing_and_malformed_host() -> None:
    exchange = request()
    del exchange.request.headers["host"]
    assert severity(exchange, "proto.host-missing") == Severity.MEDIUM
    exchange.request.http_version = "HTTP/1.0"
    assert "proto.host-missing" not in found(exchange)
    assert "proto.host-missing" in found(request(headers={"host": " "}))
    two = request(headers={"host": "a.example, b.example"})
    assert severity(two, "proto.host") == Severity.HIGH
    assert "proto.host" in found(request(headers={"host": "evil.example/x@api"}))


def test_control_characters_in_headers() -> None:
    injected = request(headers={"x-note": "a\r\nSet-Cookie: sid=1"})
    assert severity(injected, "proto.header-chars") == Severity.HIGH
    assert severity(request(headers={"x-note": "a\x00b"}), "proto.header-chars") == Severity.HIGH
    assert severity(request(headers={"x-note": "a\x01b"}), "proto.header-chars") == Severity.MEDIUM
    assert "proto.header-chars" in found(request(headers={"x note": "1"}))


def test_encoded_header_injection() -> None:
    exchange = request(headers={"x-forwarded-host": "a.example%0d%0aX-Injected:%201"})
    assert severity(exchange, "proto.splitting") == Severity.HIGH
    cookie = request(headers={"cookie": "lang=en%0d%0a%0d%0a<html>owned</html>"})
    assert severity(cookie, "proto.splitting") == Severity.HIGH


def test_connection_header() -> None:
    conflict = request(headers={"connection": "close, keep-alive"})
    assert severity(conflict, "proto.connection") == Severity.MEDIUM
    hop = request(headers={"connection": "keep-alive, Content-Length"})
    assert found(hop)["proto.connection"].evidence == {"headers": "content-length"}
    assert severity(request(headers={"connection": "close, close"}), "proto.connection") == 1


def test_restricted_long_and_empty_headers() -> None:
    assert severity(request(headers={"proxy": "http://x"}), "proto.restricted-header") == 2
    next_js = request(headers={"x-middleware-subrequest": "middleware"})
    assert severity(next_js, "proto.restricted-header") == Severity.HIGH
    long_encoding = request(headers={"accept-encoding": "gzip," * 40})
    assert "proto.header-length" in found(long_encoding)
    assert severity(request(headers={"user-agent": ""}), "proto.empty-header") == Severity.LOW
    assert "proto.cookie" in found(request(headers={"cookie": '$Version=1; sid="a;b"'}))


def test_method_override() -> None:
    header = request("POST", headers={"x-http-method-override": "DELETE"})
    assert severity(header, "proto.method-override") == Severity.LOW
    assert severity(request("POST", query="_method=TRACE"), "proto.method-override") == 2
    body = request("POST", headers=FORM, body=b"_method=PUT&name=x")
    assert "proto.method-override" in found(body)


# --- Content-Type and charsets -------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json, text/html",
        "jsonish",
        "text/xml; blah",
        "multipart/form-data; boundary=  spaced",
        'application/x-www-form-urlencoded;boundary="text/xml"',
    ],
)
def test_malformed_content_types(content_type: str) -> None:
    exchange = request("POST", body=b"a=1", headers={"content-type": content_type})
    findings = found(exchange)
    assert "proto.content-type" in findings or "proto.multipart" in findings


def test_content_type_oddities() -> None:
    exchange = request("POST", body=JSON)
    assert severity(exchange, "proto.content-type") == Severity.LOW
    assert "proto.content-type" in found(
        request("POST", body=b"x", headers={"content-type": "multipart/foo; boundary=x"})
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=utf-7",
        "application/x-www-form-urlencoded; charset=ibm037",
        'application/json; charset="garbage"',
        "application/json; charset=utf-8; CHARSET=utf-16",
    ],
)
def test_charsets_that_hide_content(content_type: str) -> None:
    exchange = request("POST", body=b"a=1", headers={"content-type": content_type})
    assert severity(exchange, "proto.charset") == Severity.MEDIUM


def test_accept_charset_parameter() -> None:
    exchange = request(headers={"accept": "text/html;q=0.9;charset=CP1026,*/*;q=0.8"})
    assert "proto.charset" in found(exchange)


def test_charset_allowed_keeps_ascii_compatible_charsets() -> None:
    assert charset_allowed("UTF-8") and charset_allowed("windows-1252") and charset_allowed("gbk")
    assert not charset_allowed("utf-16") and not charset_allowed("cp500")


def test_parse_media() -> None:
    assert parse_media('multipart/form-data; boundary="a b"') == (
        "multipart/form-data",
        [("boundary", "a b")],
        False,
    )
    assert parse_media("text/plain; charset = utf-8")[2] is True


# --- multipart ---------------------------------------------------------------------------------


def upload(body: bytes, content_type: str | None = None) -> Exchange:
    headers = {"content-type": content_type} if content_type else MULTIPART
    return request("POST", "/v1/files", headers=headers, body=body)


def test_multipart_boundaries() -> None:
    assert "proto.multipart" in found(upload(UPLOAD, "multipart/form-data"))
    assert "proto.multipart" in found(upload(b"--other\r\n\r\nx\r\n--other--\r\n"))


@pytest.mark.parametrize(
    "disposition",
    [
        'form-data; name=";admin"',
        'form-data; name="a"; filename="shell.php;.jpg"',
        'form-data; name="a"; filename="c:\\\\x\\\\shell.php"',
        'attachment; name="a"',
    ],
)
def test_confusing_part_names(disposition: str) -> None:
    body = multipart(f"Content-Disposition: {disposition}\r\n\r\nx\r\n")
    assert severity(upload(body), "proto.multipart") == Severity.MEDIUM


def test_equals_sign_in_a_part_name_is_only_odd() -> None:
    body = multipart('Content-Disposition: form-data; name="a"; filename="aGk=.txt"\r\n\r\nx\r\n')
    assert severity(upload(body), "proto.multipart") == Severity.LOW


def test_part_headers() -> None:
    cte = multipart(form_part("a", extra="Content-Transfer-Encoding: base64\r\n"))
    assert severity(upload(cte), "proto.multipart") == Severity.MEDIUM
    eight_bit = multipart(form_part("a", extra="Content-Transfer-Encoding: 8bit\r\n"))
    assert severity(upload(eight_bit), "proto.multipart") == Severity.LOW
    injected = multipart(form_part("a", extra="X-Forwarded-For: 127.0.0.1\r\n"))
    assert "proto.multipart" in found(upload(injected))
    two = multipart(form_part("a", extra='Content-Disposition: form-data; name="b"\r\n'))
    assert "proto.multipart" in found(upload(two))
    charset = multipart(form_part("a", extra="Content-Type: text/plain;  charset = utf-7\r\n"))
    assert "proto.charset" in found(upload(charset))


def test_multipart_without_boundary() -> None:
    exchange = request("POST", body=b"foo", headers={"content-type": "multipart/related"})
    assert "proto.multipart" in found(exchange)


# --- Range -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("bytes=5-1", Severity.MEDIUM),
        ("bytes=0-,5-10", Severity.MEDIUM),
        ("bytes=0-1,10-11,20-21,30-31,40-41,50-51", Severity.MEDIUM),
        ("bytes=a-b", Severity.MEDIUM),
        ("bytes", Severity.MEDIUM),
    ],
)
def test_range_abuse(value: str, level: Severity) -> None:
    assert severity(request(headers={"range": value}), "proto.range") == level


def test_request_range_is_obsolete() -> None:
    assert severity(request(headers={"request-range": "bytes=0-10"}), "proto.range") == 1
    assert severity(request(headers={"request-range": "bytes=9-1"}), "proto.range") == 2


# --- query, path and body values -----------------------------------------------------------------


def test_response_splitting_in_parameters() -> None:
    cookie = request(query="lang=en%0d%0aSet-Cookie:%20sid=attacker")
    assert severity(cookie, "proto.splitting") == Severity.HIGH
    status = request(query="next=x%0d%0a%0d%0aHTTP/1.1%20200%20OK")
    assert severity(status, "proto.splitting") == Severity.HIGH
    blank = request(query="q=a%20%0d%0aLocation:%20https://evil.example")
    assert severity(blank, "proto.splitting") == Severity.HIGH
    form = request("POST", headers=FORM, body=b"comment=hi%0D%0AContent-Length%3A+0")
    assert severity(form, "proto.splitting") == Severity.HIGH
    twice = request(query="url=/home%250d%250aLocation:%20https://evil.example")
    assert (
        found(twice)["proto.splitting"].evidence["sample"] == "%0d%0aLocation: https://evil.example"
    )
    json = request(
        "POST",
        headers={"content-type": "application/json"},
        body=b'{"redirect": "/home%0d%0aSet-Cookie%3a sid=1"}',
    )
    assert severity(json, "proto.splitting") == Severity.HIGH
    line = request(query="a=GET%20http://internal/%20HTTP/1.1")
    assert severity(line, "proto.splitting") == Severity.MEDIUM


def test_line_breaks_and_controls() -> None:
    assert severity(request(query="a%0d%0ab=1"), "proto.line-break") == Severity.MEDIUM
    assert "proto.line-break" in found(request(path="/files/a%0Ab"))
    assert "proto.splitting" in found(request(path="/a%0d%0aSet-Cookie:%20x=1"))
    assert severity(request(query="a%01=1"), "proto.control-chars") == Severity.LOW


def test_null_bytes() -> None:
    assert "proto.null-byte" in found(request(query="file=report.txt%00.png"))
    assert "proto.null-byte" in found(request(path="/files/a%00.pdf"))
    json = request("POST", body=b'{"a": "b\x00"}', headers={"content-type": "application/json"})
    assert "proto.null-byte" in found(json)


@pytest.mark.parametrize(
    "query",
    ["q=%uff0e%uff0e", "p=%c0%ae%c0%ae/etc", "p=%252e%252e%252f", "f=%5Cu0065val%28%29"],
)
def test_encoding_abuse(query: str) -> None:
    assert severity(request(query=query), "proto.encoding") == Severity.MEDIUM


def test_a_nested_query_with_a_filter_operator_is_not_double_encoding_abuse() -> None:
    """A next-page link passed as a parameter keeps its `<=` filters escaped once more."""
    nested = "next=%2FCalls.json%3FStartTime%253C%253D2024-01-02%26EndTime%253C%3D2024-02-01"
    assert "proto.encoding" not in found(request(query=nested))
    assert "proto.encoding" in found(request(query="q=%253Cscript%253Ealert(1)"))


def test_invalid_encoding_in_form_bodies() -> None:
    assert "proto.encoding" in found(request("POST", headers=FORM, body=b"param=%1G"))
    json = request(
        "POST", body=b'{"user": "\\u0061dmin"}', headers={"content-type": "application/json"}
    )
    assert "proto.encoding" in found(json)


@pytest.mark.parametrize(
    "exchange",
    [
        request(query="user=admin)(|(uid=*"),
        request(headers={"cookie": "session=x)(uid=*"}),
        request("POST", headers=FORM, body=b"u=a)(%26(objectClass%3D*)&p=x"),
        request("POST", body=b'{"u": "x)!(sn=*"}', headers={"content-type": "application/json"}),
    ],
)
def test_ldap_breakout(exchange: Exchange) -> None:
    assert "proto.ldap" in found(exchange)


def test_long_forms_are_judged_whole() -> None:
    body = b"&".join(b"f%d=v" % n for n in range(1500)) + b"&u=a)(%7C(uid%3D*)"
    assert "proto.ldap" in found(request("POST", headers=FORM, body=body))


def test_proxy_target_and_restricted_files() -> None:
    assert severity(request(query="unix:AAAA|http://x/"), "proto.proxy-target") == Severity.HIGH
    assert "proto.restricted-file" in found(request(path="/backup/db.sql"))
    assert "proto.restricted-file" in found(request(path="/index.php~/x"))
    assert "proto.restricted-file" in found(request(path="/static/app%2Eenv"))
    for path in ("/logs/app.log", "/certs/server.pfx", "/bin/run.bat", "/a.idq", "/src/Main.cs"):
        assert "proto.restricted-file" in found(request(path=path)), path
    for path in ("/users/alice@example.com", "/v1/catalog.json", "/docs/index.html"):
        assert "proto.restricted-file" not in found(request(path=path)), path


# --- findings as values --------------------------------------------------------------------------


def test_findings_carry_category_and_no_secrets() -> None:
    secret = "s3cr3t-session-token-0123456789"
    exchange = request(
        query="sid=" + secret + "%0d%0aSet-Cookie:%20a=1",
        headers={"cookie": f"sid={secret}\r\nX-Evil: 1", "authorization": f"Bearer {secret}\x00"},
    )
    findings = check_protocol(exchange, CheckContext())
    assert findings
    for finding in findings:
        assert finding.rule_id.startswith("proto.") and finding.title
        assert finding.category == "API8:2023"
        assert all(secret not in value for value in finding.evidence.values())


def test_one_finding_per_rule_the_gravest() -> None:
    exchange = request("POST", body=JSON, headers={"transfer-encoding": "chunked, identity"})
    exchange.request.http_version = "HTTP/1.0"
    smuggling = [f for f in check_protocol(exchange, CheckContext()) if "smuggling" in f.rule_id]
    assert [f.severity for f in smuggling] == [Severity.HIGH]


def test_sample_shows_breaks_and_masks_numbers() -> None:
    assert sample("a\r\nb 4111111111111111") == "a\\r\\nb 41##############"


@pytest.mark.parametrize(
    "exchange",
    [
        request(headers={"range": "bytes=" + ",".join(f"{n}-" for n in range(5000))}),
        request("POST", body=b"\xff\xfe" * 1000, headers={"content-type": "multipart/form-data"}),
        request("POST", body=b"--b\r\n", headers={"content-type": "multipart/mixed; boundary=b"}),
        request("POST", body=b"%" * 1000, headers=FORM),
        request(query="&&&==%%%" * 100, path="/%"),
        request(headers={"content-type": ';;;=;"', "accept": "charset=;charset=\x00"}),
    ],
)
def test_hostile_input_never_crashes(exchange: Exchange) -> None:
    assert isinstance(check_protocol(exchange, CheckContext()), list)


def test_media_type_patterns_match_exactly_by_type_or_by_suffix() -> None:
    accepted = MediaTypes(["application/json", "image/*", "application/*+xml"])
    assert accepted.allows("application/json")
    assert accepted.allows("image/webp")
    assert accepted.allows("application/atom+xml")
    assert not accepted.allows("application/xml")  # the suffix pattern needs a suffix
    assert not accepted.allows("text/atom+xml")  # and its own top-level type
    assert not accepted.allows("application/jsonx")
    assert MediaTypes(["*/*"]).allows("text/plain")


def test_an_encoded_slash_alone_is_no_finding() -> None:
    # An encoded URL or path inside a segment is ordinary API traffic; routing, not a finding,
    # keeps it to the limits of the route it could reach.
    for path in ("/api%2Fusers/1", "/files/a%2fb", "/get/url%2Fbla%3Ftest%3D1%26sort%3D0"):
        assert found(request(path=path)) == {}, path
