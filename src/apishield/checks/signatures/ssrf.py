"""Server-side request forgery: URLs that point a server at itself, its network or its cloud
metadata service, in every spelling of the address an HTTP client accepts."""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium

_SCHEME = r"(?:https?|ftps?|gopher|dict|ldaps?|tftp|sftp|wss?|file|jar|netdoc|rtsp|smb|telnet)"
_AUTHORITY = (
    rf"(?:\b{_SCHEME}:(?:/|\\|%2f|%5c){{0,3}}|\b[a-z][a-z0-9+._-]{{1,15}}:(?://|\\\\))"
    r"(?:[^/\\@\s?]*@)?\[?"
)
"""Scheme and `//`, an optional userinfo (the `good.example@evil` and `good#@evil` tricks),
an optional `[`."""
_END = r"\.?(?:$|[\]:/\\?#%\s])"
"""The end of a host name; a trailing dot (`127.0.0.1.`) resolves the same."""
_DOT = r"(?:\.|\xe3\x80\x82)"
"""A dot, or the ideographic full stop that NFKC leaves and some resolvers read as one."""
_REBINDING = (
    r"(?:[a-z0-9-]+\.)*(?:nip\.io|xip\.io|sslip\.io|localtest\.me|lvh\.me|vcap\.me|"
    r"localh\.st|traefik\.me|1u\.ms|rbndr\.us|localhost)"
)
"""Public DNS names that resolve to whatever address they spell, or always to loopback: the
usual way past a filter that checks the host name but not the address it resolves to."""
_LOCALHOST = r"\\*l\\*o\\*c\\*a\\*l\\*h\\*o\\*s\\*t"
"""`localhost`, also with the backslashes some URL parsers drop (`l\\o\\c\\a\\l...`)."""
_LOOPBACK = (
    rf"(?:{_LOCALHOST}4?(?:\.localdomain4?)?|127(?:{_DOT}\d{{1,3}}){{0,3}}|0(?:\.0){{0,3}}|"
    r"0x7f[0-9a-f.x]*|ipv6-localhost|kubernetes\.default(?:\.svc(?:\.cluster\.local)?)?|"
    r"0+177(?:\.[0-7x]+){0,3}|2130706433|017700000001|0x7f000001|"
    r"(?:0{0,4}:){2,7}(?:0{0,3}1)?|(?:0{0,4}:){1,6}ffff:(?:127\.[\d.]+|7f[0-9a-f]{2}:[0-9a-f]{1,4})|"
    r"localtest\.me|ip6-(?:localhost|loopback)|(?:host|gateway|kubernetes)\.docker\.internal|"
    rf"host\.containers\.internal|{_REBINDING})"
)
_METADATA = (
    rf"(?:169{_DOT}254{_DOT}169{_DOT}254|169\.254\.170\.2|192\.0\.0\.192|rancher-metadata|"
    r"2852039166|0xa9fea9fe|0251\.0376\.0251\.0376|"
    r"0xa9\.0xfe\.0xa9\.0xfe|\[?fd00:ec2::254\]?|metadata\.google\.internal|metadata|"
    r"instance-data(?:\.ec2\.internal)?|metadata\.(?:packet\.net|tencentyun\.com|azure\.com)|"
    r"100\.100\.100\.200|169\.254\.\d{1,3}\.\d{1,3})"
)
_PRIVATE = (
    r"(?:10(?:\.\d{1,3}){3}|192\.168(?:\.\d{1,3}){2}|172\.(?:1[6-9]|2\d|3[01])(?:\.\d{1,3}){2}|"
    r"f[cd][0-9a-f]{2}:[0-9a-f:]*|fe80:[0-9a-f:%a-z]*|[a-z0-9-]+\.(?:internal|local|intranet|corp))"
)

_OBFUSCATED = (
    r"(?:\d{8,}|0x[0-9a-f]{6,}|(?:0x[0-9a-f]{1,2}\.){1,3}(?:0x)?[0-9a-f]+|"
    r"0[0-7]*(?:\.0*[0-7]+){1,3}|\d{1,3}\.\d{1,8}|\d{1,3}\.\d{1,3}\.\d{1,5}|"
    r"0o[0-7]+(?:\.\d{1,3}){0,3}|0\d{1,3}(?:\.\d{1,3}){3}|"
    r"(?:0{0,4}:){1,6}ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}|(?:0{0,4}:){1,6}ffff:[\d.]+)"
)
"""An IPv4 address spelled as one number, in hex or octal (`0177`, `0o177`, a leading zero in
one part of a dotted quad), in short dotted form or IPv6-mapped:
HTTP clients accept these, and they exist to slip past filters that look for dotted quads."""

SIGNATURES: tuple[Signature, ...] = (
    high(
        "loopback-url",
        "ssrf",
        "URL to the server's own loopback",
        rf"{_AUTHORITY}{_LOOPBACK}{_END}",
    ),
    high(
        "metadata-url", "ssrf", "URL to a cloud metadata service", rf"{_AUTHORITY}{_METADATA}{_END}"
    ),
    high(
        "obfuscated-ip-url",
        "ssrf",
        "URL whose host is an IP address in an evasive spelling",
        rf"{_AUTHORITY}{_OBFUSCATED}{_END}",
    ),
    high(
        "metadata-path",
        "ssrf",
        "Cloud metadata path",
        r"/latest/(?:meta-data|user-data|api/token|dynamic/instance-identity)|"
        r"/computemetadata/v1|/metadata/(?:instance|identity)\b|/openstack/latest/",
    ),
    medium(
        "private-url", "ssrf", "URL to a private network address", rf"{_AUTHORITY}{_PRIVATE}{_END}"
    ),
    medium(
        "url-confusion",
        "ssrf",
        "URL written so that parsers disagree on its host (`http://a#@b`, `http://a@b@c`)",
        r"\b[a-z][a-z0-9+.-]{1,15}://[^/\s?#@]*(?:[#&\\]|%23|%26|%5c)@|"
        r"\b[a-z][a-z0-9+.-]{1,15}://[^/\s?#@]*@[^/\s?#@]*@",
    ),
    high(
        "exotic-scheme",
        "ssrf",
        "URL scheme used to reach non-HTTP services (gopher, dict, ldap, tftp...)",
        r"\b(?:gopher|dict|tftp|netdoc|jar|ldap|ldaps|sftp|telnet|rmi|iiop):(?:/|%2f){2}",
    ),
    medium(
        "bare-internal-host",
        "ssrf",
        "Loopback or container host name given as a location",
        r"(?:^|[\s=:'\"(,;<>])\s*(?:localhost4?(?:\.localdomain4?)?|ip6-(?:localhost|loopback)|"
        r"ipv6-localhost|(?:host|gateway|kubernetes)\.(?:docker|containers)\.internal|"
        r"kubernetes\.default(?:\.svc(?:\.cluster\.local)?)?|(?:[a-z0-9-]+\.)*(?:localtest|lvh)\.me|"
        r"127\.0\.0\.1|169\.254\.169\.254|metadata\.google\.internal|\[::1?\])(?::\d+)?/",
    ),
    medium(
        "bare-loopback",
        "ssrf",
        "Metadata or disguised loopback address as a whole value",
        r"^\s*(?:169\.254\.169\.254|metadata\.google\.internal|0x7f000001|0x7f\.\d+\.\d+\.\d+|"
        r"\[(?:0*:){2,7}0*1\]|\[::ffff:[0-9a-f.:]+\])(?::\d+)?(?:/[^\n]*)?\s*$",
    ),
)
