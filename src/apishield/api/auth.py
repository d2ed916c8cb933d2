"""One token for everything but the health check: a Bearer header, or the dashboard's cookie.

`/login?token=` checks the token, sets it as an HttpOnly, SameSite=Strict cookie and sends the
browser to the dashboard, so the token printed by `apishield serve` opens the console in one
click and never sits in a page's script.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request, status
from fastapi.responses import RedirectResponse

COOKIE = "apishield_token"


class TokenCheck:
    """A FastAPI dependency: 401 unless the request carries the server's token."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def __call__(self, request: Request) -> None:
        if not self.accepts(_presented(request)):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a token is needed: Authorization: Bearer <token>, or open /login?token=<token>",
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


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return request.cookies.get(COOKIE)
