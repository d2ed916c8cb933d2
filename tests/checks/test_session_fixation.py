"""Session IDs in links from other sites."""

from __future__ import annotations

import pytest

from apishield.checks.session_fixation import session_in_link
from apishield.testing import make_exchange

HOST = {"host": "shop.example.com"}


@pytest.mark.parametrize(
    "query",
    [
        "PHPSESSID=3f9a0c",
        "jsessionid=AB12",
        "connect.sid=s%3Aj8jK9",
        "koa.sess=eyJ1c2VySWQiOjF9",
        "_rails_session=BAh7B0k",
        "__Host-next-auth.session-token=abc",
        "next=/cart&ASP.NET_SessionId=xyz",
        "CFTOKEN=123",
    ],
)
def test_a_session_name_from_another_site_is_found(query: str) -> None:
    exchange = make_exchange(
        path="/login", query=query, headers={**HOST, "referer": "https://evil.example/x"}
    )
    finding = session_in_link(exchange.request)
    assert finding is not None and finding.evidence["class"] == "session_fixation"


def test_a_form_body_counts_too() -> None:
    exchange = make_exchange(
        method="POST",
        path="/login",
        body=b"sessionid=abc123&username=a",
        headers={
            **HOST,
            "referer": "http://phish.example/",
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    assert session_in_link(exchange.request) is not None


@pytest.mark.parametrize(
    ("query", "referer"),
    [
        ("PHPSESSID=3f9a0c", "https://shop.example.com/cart"),  # the site's own page
        ("PHPSESSID=3f9a0c", "https://www.shop.example.com/"),  # a subdomain of it
        ("PHPSESSID=3f9a0c", ""),  # API clients and bookmarks send no Referer
        ("session_length=30&sidebar=1", "https://evil.example/"),  # only named alike
        ("q=session+cookies", "https://search.example/"),
    ],
)
def test_the_site_itself_and_look_alikes_are_not(query: str, referer: str) -> None:
    headers = {**HOST, "referer": referer} if referer else HOST
    exchange = make_exchange(path="/login", query=query, headers=headers)
    assert session_in_link(exchange.request) is None
