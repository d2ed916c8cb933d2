import pytest

from apishield.ingest.target import parse_request_line, split_target


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET /a?b=1 HTTP/1.1", ("GET", "/a?b=1", "HTTP/1.1")),
        ("GET /with space HTTP/1.0", ("GET", "/with space", "HTTP/1.0")),
        ("GET /", ("GET", "/", "")),  # HTTP/0.9
        ("M-SEARCH * HTTP/1.1", ("M-SEARCH", "*", "HTTP/1.1")),
        ("GET ../../etc/passwd HTTP/1.1", ("GET", "../../etc/passwd", "HTTP/1.1")),
    ],
)
def test_request_lines(line: str, expected: tuple[str, str, str]) -> None:
    assert parse_request_line(line) == expected


@pytest.mark.parametrize(
    "line", ["", "-", "\x16\x03\x01", "GET ", " /x HTTP/1.1", "G\x00T /x HTTP/1.1"]
)
def test_not_request_lines(line: str) -> None:
    assert parse_request_line(line) is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/a/b?x=1&y", ("", "", "/a/b", "x=1&y")),
        ("/a?", ("", "", "/a", "")),
        ("*", ("", "", "*", "")),
        ("http://evil.example:8080/p?q", ("http", "evil.example:8080", "/p", "q")),
        ("HTTPS://user:pw@h.example", ("https", "h.example", "/", "")),
        ("api.example.com:443", ("", "", "api.example.com:443", "")),  # CONNECT's authority-form
    ],
)
def test_targets(target: str, expected: tuple[str, str, str, str]) -> None:
    assert split_target(target) == expected
