"""CRLF and header injection: a line break that starts a header or a whole response."""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium

_BREAK = r"(?:[\r\n]|\xe5\x98[\x8a\x8d])"
"""CR or LF, or U+560A / U+560D whose low byte some servers keep as a line break."""

SIGNATURES: tuple[Signature, ...] = (
    high(
        "header-injection",
        "crlf",
        "Line break followed by a response header",
        rf"{_BREAK}+[ \t]*(?:set-cookie|location|"
        r"content-(?:type|length|disposition|security-policy)|"
        r"refresh|x-xss-protection|x-frame-options|access-control-allow-[a-z-]+|"
        r"transfer-encoding|cache-control|connection|host|cookie|x-forwarded-[a-z]+|"
        r"strict-transport-security|www-authenticate|link|x-[a-z-]+)\s*:",
    ),
    high(
        "response-splitting",
        "crlf",
        "Line break followed by a status line or a second body",
        rf"{_BREAK}+\s*http/\d(?:\.\d)?\s+\d{{3}}|{_BREAK}{{2,}}\s*<(?:html|script|body|svg|!doctype)",
    ),
    high(
        "mail-command",
        "crlf",
        "Line break followed by an SMTP or IMAP command, for a value a mail server receives",
        rf"{_BREAK}+\s*(?:rcpt\s+to|mail\s+from)\s*:\s*<?[^\s@<>]+@|"
        # an IMAP command line as a client sends it: tag, command, its arguments, line end
        rf"{_BREAK}+\s*[a-z]\d{{1,4}}\s+(?:capability|logout|fetch\s+[\d:*,]+\s*(?:\([^\n]*)?|"
        rf"login\s+\S+\s+\S+)\s*(?:{_BREAK}|$)",
    ),
    medium(
        "encoded-break",
        "crlf",
        "Percent-encoded CR or LF left in a value after decoding",
        r"%0d%0a[a-z-]+\s*:|%0a[a-z-]+\s*:|%0d[a-z-]+\s*:",
    ),
)
