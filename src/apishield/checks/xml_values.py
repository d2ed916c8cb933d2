"""The values an XML parser hands the application: attribute values, text and CDATA.

An XML body is judged whole as well (a DOCTYPE or an entity declaration is an attack wherever it
sits), but the application reads each attribute and element on its own: `<a id="1' OR 1=1--">`
reaches the query as `1' OR 1=1--`, entities decoded, with no markup around it. Signatures that
look for a value's start, and the SQL tokeniser, need that value, not the document.

The scan is two regex passes over the text (no parser, so no entity expansion, no external
fetches and no recursion), and stops after `limit` values.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

_ATTRIBUTE = re.compile(r"""[\s"'][\w:.-]{1,128}\s*=\s*(?:"([^"<]*)"|'([^'<]*)')""")
"""A name="value" pair; values cannot hold `<` in well-formed XML."""
_TEXT = re.compile(r"<!\[CDATA\[(.*?)\]\]>|>([^<]+)<", re.DOTALL)
"""CDATA sections (their content verbatim) and the text between two tags."""


def looks_like_xml(text: str, content_type: str) -> bool:
    """Declared as XML (`application/xml`, `application/soap+xml`, `text/xml`) or opening as XML."""
    if "xml" in content_type:
        return True
    head = text.lstrip()[:5]
    return head.startswith("<?xml") or (head.startswith("<") and not content_type)


def xml_values(text: str, limit: int) -> Iterator[str]:
    """Attribute values, then texts and CDATA contents, entity-decoded, blanks-only left out."""
    count = 0
    for match in _ATTRIBUTE.finditer(text):
        value = match.group(1) if match.group(1) is not None else match.group(2)
        if value and not value.isspace():
            yield html.unescape(value) if "&" in value else value
            count += 1
            if count >= limit:
                return
    for match in _TEXT.finditer(text):
        cdata, value = match.group(1), match.group(2)
        if cdata is not None:
            value = cdata  # a CDATA section is verbatim: no entities inside
        elif "&" in value:
            value = html.unescape(value)
        if value and not value.isspace():
            yield value
            count += 1
            if count >= limit:
                return
