import pytest

from apishield.exchange import Headers
from apishield.ingest.stats import Skip
from apishield.ingest.values import add_headers, capped, count, duration, status_code, without_port


@pytest.mark.parametrize(
    ("value", "status"), [(200, 200), ("404", 404), ("٢٠٠", 200), (0, None), ("-", None)]
)
def test_status(value: object, status: int | None) -> None:
    assert status_code(value) == status


@pytest.mark.parametrize("value", ["abc", "²²²", 99, 1000, 200.0, True])
def test_bad_status(value: object) -> None:
    with pytest.raises(Skip, match="bad status"):
        status_code(value)


@pytest.mark.parametrize(
    ("value", "size"), [(5, 5), ("12", 12), (-1, None), ("-", None), ("¹²", None), (1.5, None)]
)
def test_count(value: object, size: int | None) -> None:
    assert count(value) == size


def test_duration_forms() -> None:
    assert duration("0.010, 0.004") == pytest.approx(0.014)
    assert duration("0.010 : 0.004") == pytest.approx(0.014)
    assert duration(12) == 12.0
    assert duration("-") is None
    assert duration(float("nan")) is None
    assert duration(-1) is None


def test_capped_keeps_the_real_size() -> None:
    assert capped("héllo", 3) == (b"h\xc3\xa9", 6)
    assert capped("-", 3) == (None, None)
    assert capped({"json": "object"}, 3) == (None, None)


@pytest.mark.parametrize(
    ("address", "ip"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:5678", "1.2.3.4"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::1", "::1"),
    ],
)
def test_peer_address_without_port(address: str, ip: str) -> None:
    assert without_port(address) == ip


def test_logged_header_objects() -> None:
    headers: Headers = {"host": "h"}
    add_headers(headers, {"User-Agent": "ua", "X-Many": ["a", 1], "x-empty": "", "x-num": 5})
    assert headers == {"host": "h", "user-agent": "ua", "x-many": "a, 1"}
    add_headers(headers, "not an object")
