"""A first look at a request's plain parts, so ordinary traffic skips value-by-value judging.

Most API requests carry IDs, dates, words and numbers in their path, query and cookies. Judging
each value separately (split, decode, scan) costs more than the rest of the pipeline, so the raw
parts are first scanned once, whole, for anything an injection could need: characters that code
uses, an encoding that could hide them, a SQL keyword, a path climb, or any signature at all. If
nothing is there, no value can hold an attack the full check would find, and the request is
quiet. The gate is a superset by construction: every signature is in it as well, and the buffer
puts every value on a line of its own, where anchored signatures expect it.
"""

from __future__ import annotations

from collections.abc import Sequence

import hyperscan

from apishield.checks.hscache import compiled
from apishield.checks.signatures import Signature
from apishield.checks.signatures.base import confine

SUSPICIOUS = (
    r"['\"`<>(){}\[\];|$\\*?!^~#]|--",
    # any percent-escape but the harmless %20 %2C %2F %3A %40, which APIs send all the time
    r"%(?:[015-9a-fA-F][0-9a-fA-F]|2[1-9abdeABDE]|3[0-9b-fB-F]|4[1-9a-fA-F])",
    r"%[uU]",
    r"&#|&[a-zA-Z]{2,8};|\+AD",
    r"\.\.",
    r"[\x00-\x08\x0b-\x1f\x7f-\xff]",  # \r included: a raw line break in a value arrives as one
    r"\b(?:or|and|xor|union|select|sleep|benchmark|waitfor|having|exec|execute|insert|update"
    r"|delete|drop|declare|procedure|rlike|regexp|shutdown|truncate|alter|create)\b",
    r"\b(?:order|group)[\s+]+by\b",
    r"://|:/|@",
)
"""What an injection needs, as raw text. Kept broad: a miss here is a missed attack."""


class Gate:
    def __init__(self, signatures: Sequence[Signature]) -> None:
        patterns = [p.encode() for p in SUSPICIOUS]
        flags = [hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH] * len(patterns)
        for sig in signatures:
            # confined as the matcher's are: `^` and `$` are the newlines around each value,
            # cheaper for Hyperscan than multi-line anchors
            patterns.append(confine(sig.gate or sig.pattern).encode())
            flags.append(sig.flags | hyperscan.HS_FLAG_SINGLEMATCH)
        self._database = compiled(patterns, flags, range(len(patterns)))

    def quiet(self, text: str) -> bool:
        """True when nothing in `text` could start an injection. `text` holds one value per
        line (`targets.plain_parts`), with no line break inside a value."""
        found: list[int] = []

        def stop(sig_id: int, start: int, end: int, flags: int, context: object) -> bool:
            found.append(sig_id)
            return True  # one reason is enough: Hyperscan stops scanning

        try:
            buffer = f"\n{text}\n".encode("utf-8", "surrogatepass")
            self._database.scan(buffer, match_event_handler=stop)
        except hyperscan.ScanTerminated:
            return False
        except hyperscan.ScratchInUseError:
            return False  # another thread is scanning: judge value by value instead
        return not found
