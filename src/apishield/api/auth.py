"""One token for everything but the health check: a Bearer header, or the dashboard's cookie.

`/login?token=` checks the token, sets it as an HttpOnly, SameSite=Strict cookie and sends the
browser to the dashboard, so the token printed by `apishield serve` opens the console in one
click and never sits in a page's script. SameSite does not keep out pages of the same site (another
port of localhost), so a change made with the cookie must also come from this origin
(`Sec-Fetch-Site: same-origin`), and the ingest route takes the header alone.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request, status
from fastapi.responses import RedirectResponse

COOKIE = "apishield_token"


class TokenCheck:
    """A FastAPI dependency: 401 unless the request carries the server's token."""

    def __init__(self, token: str) -> None:
        if len(token) < 32:
            raise ValueError("the API token must have at least 32 characters")
        self._token = token.encode()

    def __call__(self, request: Request) -> None:
        bearer = _bearer(request)
        if not self.accepts(bearer if bearer is not None else request.cookies.get(COOKIE)):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a token is needed: Authorization: Bearer <token>, or open /login?token=<token>",
                headers={"WWW-Authenticate": 'Bearer realm="apishield"'},
            )
        if bearer is None and request.method not in SAFE_METHODS:
            # The cookie rides along with any page's request; a change must come from ours.
            site = request.headers.get("sec-fetch-site")
            if site is not None and site != "same-origin":
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    f"a change from another site ({site}) is refused; use the dashboard or the "
                    "Authorization header",
                )

    def bearer_only(self, request: Request) -> None:
        """For machine routes (ingest): the header, never the browser's cookie."""
        if not self.accepts(_bearer(request)):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "this route takes the token as Authorization: Bearer <token> only",
                headers={"WWW-Authenticate": 'Bearer realm="apishield"'},
            )

    def accepts(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self._token)

    def login(self, token: str, secure: bool) -> RedirectResponse:
        if not self.accepts(token):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "that token is not this server's")
        answer = RedirectResponse("/", status.HTTP_303_SEE_OTHER)
        answer.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure)
        return answer


SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return None
