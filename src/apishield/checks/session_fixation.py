"""Session fixation: a session ID handed to the application in a link from another site.

An attacker who gets a victim to follow `https://shop.example/login?PHPSESSID=known` (or to post a
form with it) makes the victim log in to a session the attacker already knows, on frameworks that
accept the ID from the URL. The tell is a parameter named like a framework's session cookie in a
request whose Referer is another site. Without a Referer, API clients and bookmarks send such
names for their own reasons, so that alone is not judged.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit

from apishield.exchange import Finding, Request, Severity

_SESSION_NAME = re.compile(
    r"(?:__(?:host|secure)-)?_*(?:"
    r"(?:[a-z0-9]+[._:-])*sess(?:ion)?(?:[._-]?(?:id|token|key))?"
    r"|(?:[a-z0-9]+[._-])+sid"
    r"|jsessionid|php(?:sessid|session)|aspsessionid[a-z]*|asp\.net_sessionid"
    r"|jservsession|weblogicsession|cfid|cftoken|cfsid|jwsession"
    r")"
)
"""Session cookie names as frameworks spell them: PHPSESSID, JSESSIONID, ASP.NET_SessionId,
connect.sid, koa.sess, _rails_session, laravel_session, next-auth.session-token, CFTOKEN."""
_HINTS = ("sess", "sid", "cfid", "cftoken")


def session_in_link(request: Request) -> Finding | None:
    """A finding when a session-named parameter arrives with a Referer from another host."""
    referer = request.headers.get("referer")
    if not referer:
        return None
    text = request.query
    if "x-www-form-urlencoded" in request.headers.get("content-type", "") and request.body:
        text = f"{text}&{request.body[:8192].decode('utf-8', 'replace')}"
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return None
    name = _session_name(lowered)
    if name is None or not _off_site(referer, request.headers.get("host", request.host)):
        return None
    return Finding(
        rule_id="inj.session_fixation.session-id-in-link",
        title="Session ID parameter in a request referred by another site",
        severity=Severity.MEDIUM,
        evidence={"class": "session_fixation", "location": "query", "name": name[:80]},
        category="API2:2023",
    )


def _session_name(text: str) -> str | None:
    for pair in text.split("&")[:256]:
        name = pair.partition("=")[0]
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        name = name.strip()
        if name and _SESSION_NAME.fullmatch(name):
            return name
    return None


def _off_site(referer: str, host: str) -> bool:
    """The Referer names a host that is neither the requested host nor one of its subdomains."""
    try:
        origin = (urlsplit(referer.strip()).hostname or "").lower()
    except ValueError:
        return True
    own = host.strip().lower().rsplit(":", 1)[0] if "]" not in host else host.strip().lower()
    if not origin or not own:
        return False
    return not (origin == own or origin.endswith("." + own) or own.endswith("." + origin))
