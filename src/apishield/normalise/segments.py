"""What one path segment holds: an identifier, a date, a phone number, a code, or a plain word.

Route learning calls this for every segment that is not already a known literal, on every
request, so the common cases are decided with `str` methods that run in C (`isdigit`,
`strip` with a character set, `count`) and a regular expression only settles the rare shapes.

Strong kinds (long numbers, UUIDs, 20+ hex digits, prefixed IDs, ULIDs, emails, E.164 numbers,
random tokens of 16+ characters) are parameters the first time they are seen. Weak kinds (short
numbers, dates, national phone numbers, short hex (from git's seven-digit abbreviations up, with
digits and letters, so `deadbeef` and `facade` stay words) and short random tokens) also occur as
fixed parts of an API, such as a version date, so the learner waits for a second value before it
treats their position as a parameter.

Two looser readings serve the learner's folding rules: `word_shape` (a word that reads as a
generated value, though no kind fits) and `not_a_name` (what no endpoint is called).
"""

from __future__ import annotations

import re
from collections.abc import Container
from functools import lru_cache
from operator import add
from string import ascii_letters, ascii_lowercase, ascii_uppercase, digits
from typing import NamedTuple
from urllib.parse import unquote


class Kind(NamedTuple):
    name: str
    """Parameter name stem: id, uuid, hex, token, email, phone, date, ip or param."""
    strong: bool
    """Whether one sighting is enough to call the position a parameter."""


ID, SHORT_ID = Kind("id", True), Kind("id", False)
UUID = Kind("uuid", True)
HEX, SHORT_HEX = Kind("hex", True), Kind("hex", False)
TOKEN, SHORT_TOKEN = Kind("token", True), Kind("token", False)
EMAIL = Kind("email", True)
PHONE, NATIONAL_PHONE = Kind("phone", True), Kind("phone", False)
DATE = Kind("date", False)
IP = Kind("ip", True)
LONG = Kind("param", True)

MAX_SEGMENT = 256
"""Longer segments are values whatever they contain: no API names a resource like that."""

_FILE_TYPES = """
    json xml csv tsv txt html htm xhtml pdf png jpg jpeg gif svg webp ico bmp tif tiff heic
    js mjs css map yaml yml toml ini conf cfg env md rst rtf doc docx xls xlsx ppt pptx odt ods
    zip gz tgz bz2 xz tar rar jar war apk ipa dmg exe bin dat log bak sql db sqlite php asp
    aspx jsp cgi pl py rb sh bat mp3 mp4 m4a wav ogg oga webm mov avi mkv flac aac woff woff2
    ttf otf eot wasm proto pb avro jsonl ndjson geojson kml gpx ics vcf atom rss wsdl xsd pem
    crt cer der p12 pfx key sig asc gpg"""
FILE_EXTENSIONS = frozenset(_FILE_TYPES.split())
"""File types seen in URLs. A known type is an extension whatever its stem; anything else only
after a value (`{id}.foo`)."""

_HEX = "0123456789abcdefABCDEF"
_TOKEN_CHARS = ascii_letters + digits + "-_"
_PHONE_CHARS = digits + " -.()"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CLASSES = str.maketrans(
    {
        **dict.fromkeys(ascii_lowercase, "a"),
        **dict.fromkeys(ascii_uppercase, "A"),
        **dict.fromkeys(digits, "0"),
        "-": "-",
        "_": "-",
    }
)
_DATE = re.compile(
    r"\d{4}[-.]\d\d(?:[-.]\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?)?"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_HUMPS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_PARAM = re.compile(r"\{([^{}]*)\}")

# Common English letter pairs. Identifiers made of words are built from these; random tokens
# are not, which tells `MachineToMachine` from `kYqPzRtWbNmHvLcX` without a dictionary.
_BIGRAM_LIST = """
    th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le
    ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec pr
    no ct us ac ot il tr ly nc et ut ss so rs un lo wa ge ie wh ee wi em ad ol rt po we na ul ni
    ts mo ow pa im mi ai sh ir su id os iv ia am fi ci vi pl ig tu ev ld ry mp fe bl ab gh ty op
    wo sa ay ex ke fr oo av ag if ap gr od bo sp rd do uc bu ei ov by rm ep tt oc fa ef cu rn sc
    gi da yo cr cl du ga qu ue ff ba ey ls va um pp ua up lu go ht ru ug ds lt pi rc rr eg au ck
    ew mu br bi pt ak pu ui rg ib tl ny ki rk ys ob mm fu ph og ms ye ud mb ip ub oi rl gu dr hr
    cc tw ft wn nu af hu nn eo vo rv nf xp gn sm fl iz ok nl my gl aw ju oa eq sy sl ps jo lf nv
    je nk kn gs dy hy ze ks xt bs ik dd cy rp sk xi oe oy ws lv dl rf eu dg wr xa yi nm eb rb tm
    xc eh tc gy ja hn yp za ax gt"""
_BIGRAMS = frozenset(_BIGRAM_LIST.split())


def decode(raw: str) -> str:
    """Percent-decode, so `%41B` and `AB` are classified (and counted) as the same value."""
    return unquote(raw) if "%" in raw else raw


def split_extension(raw: str) -> tuple[str, str] | None:
    """`CA12….json` -> (`CA12…`, `json`): the stem may be a value, the extension never is.

    Only a known file type, or any suffix after a value, counts as an extension: `john.doe`
    and `example.com` are names, not files.
    """
    stem, _, ext = raw.rpartition(".")
    if not stem or not 0 < len(ext) <= 5 or not ext.isalnum() or not ext[0].isalpha():
        return None
    if ext.lower() in FILE_EXTENSIONS:
        return stem, ext
    kind = classify(decode(stem))
    return (stem, ext) if kind is not None and kind.strong else None


def classify(text: str) -> Kind | None:
    """The kind of value a decoded segment holds, or None for a word that may be a literal."""
    n = len(text)
    if n > MAX_SEGMENT:
        return LONG
    if n == 0 or not text.isascii():
        return None
    if text.isdigit():
        return ID if n >= 6 else SHORT_ID
    if text.isalnum():
        return _alphanumeric(text) if n >= 7 else None
    if text[0] == "+":
        return _phone(text[1:], PHONE)
    if "@" in text:
        return EMAIL if _EMAIL.fullmatch(text) else None
    if n == 36 and text[8] == "-":
        return UUID if _UUID.fullmatch(text) else None
    if n >= 7 and text[4] in "-." and text[:4].isdigit() and _DATE.fullmatch(text):
        return DATE
    if not text.strip(_PHONE_CHARS):
        return _ip(text) or _phone(text, NATIONAL_PHONE)
    if text.count(":") >= 2 and not text.strip(_HEX + ":"):
        return IP
    if text.startswith("eyJ") and text.count(".") == 2:
        return TOKEN
    if n < 8 or text.rstrip("=").strip(_TOKEN_CHARS):
        return None
    return _prefixed(text) or _token(text.rstrip("="))


def _alphanumeric(text: str) -> Kind | None:
    """Hashes, prefixed IDs (`AC` + 32 hex), ULIDs and random tokens; or a long word. Of
    seven characters, only a git abbreviation (`5f3a9c1`) is a value: `alice17` is a name."""
    n = len(text)
    if n == 7:
        return SHORT_HEX if _short_hex(text) else None
    if text.isalpha():
        return _token(text)
    if (text.islower() or text.isupper()) and not text.strip(_HEX):
        return HEX if n >= 20 else SHORT_HEX
    body = text.lstrip(ascii_uppercase)
    if len(body) >= 16 and n - len(body) <= 4 and not body.strip(_HEX):
        return ID
    if n == 26 and text[0] in "01234567" and not text.strip(_CROCKFORD):
        return ID
    return _token(text)


def _short_hex(text: str) -> bool:
    """A git abbreviation (`5f3a9c1`): hex digits in one case, letters and digits both."""
    return not text.isalpha() and (text.islower() or text.isupper()) and not text.strip(_HEX)


def _phone(text: str, kind: Kind) -> Kind | None:
    """E.164 after a `+`, or a national number written with separators."""
    # Digits alone (E.164 as usually written) are counted without a look at each one.
    count = len(text) if text.isdigit() else sum(map(str.isdigit, text))
    if count < 7 or count > 15 or text.strip(_PHONE_CHARS):
        return None
    if kind is PHONE:
        return PHONE
    return NATIONAL_PHONE if count < len(text) else None


def _ip(text: str) -> Kind | None:
    parts = text.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 for p in parts):
        return IP
    return None


def _prefixed(text: str) -> Kind | None:
    """A type prefix and a random body, as in `cus_NffrFeUfNV2Hib` or `sk_live_…`."""
    head, sep, body = text.rpartition("_")
    if not sep or not head or len(head) > 16 or not head.replace("_", "").isalpha():
        return None
    if len(body) >= 4 and (body.isdigit() or (len(body) >= 8 and _random_body(body))):
        return ID if len(body) >= 12 else SHORT_ID
    return None


def _random_body(body: str) -> bool:
    """After a type prefix, digits among mixed-case letters are enough."""
    if body.isalnum() and not body.isalpha() and not (body.islower() or body.isupper()):
        return True
    return _looks_random(body)


def _token(text: str) -> Kind | None:
    if not _looks_random(text):
        return None
    return TOKEN if len(text) >= 16 else SHORT_TOKEN


def _looks_random(text: str) -> bool:
    """Letters and digits interleaved, or letters that do not read as words."""
    classes = text.translate(_CLASSES)
    lower, upper = "a" in classes, "A" in classes
    digit_runs = classes.count("a0") + classes.count("A0") + classes.count("-0")
    if digit_runs + (classes[0] == "0") >= 2 and (lower or upper):
        return True
    if len(text) < 8 or (len(text) < 16 and not (lower and upper)):
        return False
    return _unlike_words(text)


def _unlike_words(text: str) -> bool:
    humps = _HUMPS.findall(text)
    letters = sum(map(len, humps))
    pairs = letters - len(humps)
    if letters == 0 or pairs < 0.6 * letters:
        return letters > 0
    joined = " ".join(humps).lower()
    common = sum(map(_BIGRAMS.__contains__, map(add, joined, joined[1:])))
    return common < 0.8 * pairs


def code_shape(text: str) -> str | None:
    """The shape of a short code (`US`, `en-GB`, `A1`), or None for a word.

    Codes of one shape under one parent are values of one parameter; words of one length are
    not, so only codes are grouped by shape.
    """
    if not 2 <= len(text) <= 5 or not text.isascii() or "aaa" in text.translate(_CLASSES):
        return None
    return text.translate(_CLASSES)


def word_shape(text: str) -> str | None:
    """How a word that `classify` leaves alone still reads as a generated value: letters and
    digits mixed (`alice17`, `x7k2m9`, though `oauth2` too) or four or more words joined by
    hyphens (a slug, `how-to-cook-pasta`); None for plain words (`me`, `reset-password`) and
    short codes, which `code_shape` groups."""
    if not text.isascii() or code_shape(text) is not None:
        return None
    classes = text.translate(_CLASSES)
    if "0" in classes:
        return "a0" if "a" in classes or "A" in classes else None
    if text.count("-") >= 3 and text.islower() and "--" not in text:
        return "a-a"
    return None


_NAME = re.compile(r"[\w.~@:$,+!{}-]*")
"""What an endpoint's name is made of: letters and digits of any script, URL-safe marks, and
braces (a client that sent `/a/{id}` unexpanded; the literal keeps them, escaped)."""


def not_a_name(text: str) -> bool:
    """Whether a decoded segment holds what no endpoint's name does (a quote, a space, a slash,
    brackets or other SQL, markup and traversal punctuation; a signed number), so it is a
    value, or an attack on one, whatever its parent has learned."""
    if _NAME.fullmatch(text) is None:
        return True
    return text[:1] == "-" and text[1:].isdigit()


@lru_cache(maxsize=2048)
def segment_pattern(template: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """A matcher for one template segment with parameters (`{Sid}.json`, `v{n}`), else None."""
    names = tuple(_PARAM.findall(template))
    if not names:
        return None
    literals = _PARAM.split(template)[::2]
    body = "(.+?)".join(re.escape(decode(part)) for part in literals)
    return re.compile(body, re.DOTALL), names


@lru_cache(maxsize=4096)  # settled routes repeat on every request that has findings
def shaped(route: str) -> str:
    """A route as a record may keep it: each literal segment that reads as a value (a number,
    phone, e-mail, token, date...) shown by its kind. Until the learner has seen a position
    take a second value, an exchange's route is its raw path, and the first customer number or
    social security number on a route must not be written to a findings file or a report.

    Words stay as they are (`john-smith`, `jsmith1985` read like `two-factor` and `oauth2`), but
    words with a space between them (`John%20Smith`) are text someone typed, never a fixed
    part of an API, and show as `{param}`."""
    if not route.startswith("/"):
        return route
    parts = route.split("/")
    changed = False
    for index, part in enumerate(parts):
        if part and part[0] != "{":
            name = _value_name(decode(part))
            if name is not None:
                parts[index] = "{" + name + "}"
                changed = True
    return "/".join(parts) if changed else route


def _value_name(text: str) -> str | None:
    kind = classify(text)
    if kind is not None:
        return kind.name
    return LONG.name if any(map(str.isspace, text)) else None


def shown(route: str, documented: Container[str]) -> str:
    """A route as it leaves apishield (reports, the store, incidents, alerts): a documented path
    as the spec writes it, whose literal segments are the spec's words, not traffic's values;
    any other route `shaped`."""
    return route if route in documented else shaped(route)
