"""apishield in-line: one `Guard` (engine + policy) wrapped around an ASGI or WSGI app."""

from apishield.inline.asgi import ApishieldMiddleware
from apishield.inline.guard import Guard, Refusal
from apishield.inline.wsgi import ApishieldWSGIMiddleware

__all__ = ["ApishieldMiddleware", "ApishieldWSGIMiddleware", "Guard", "Refusal"]
