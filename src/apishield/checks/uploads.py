"""Uploaded file names that make the server run or reconfigure something.

A file name is judged as the web server will store and later serve it: the last path segment,
cut at a NUL byte (C APIs stop there), with the trailing dots and blanks that Windows drops. What
matters is then the extension the server maps to a handler (`.php`, `.phtml`, `.jsp`, `.aspx`)
or a name the server reads as its own configuration (`.htaccess`, `web.config`, `.user.ini`).
Only values that name a file are judged this way (multipart `filename`, X-Filename headers): in
a path or a query, `index.php` is an ordinary link.
"""

from __future__ import annotations

from apishield.exchange import Severity

_PHP = "php php2 php3 php4 php5 php6 php7 php8 phtml pht phar phps pgif phpt shtml"
_JSP = "jsp jspx jspf jsw jsv jtml"
_OTHER = "asp aspx asa asax ascx ashx asmx axd cer cfm cfc cgi pl sh bash"
_EXTENSIONS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(_PHP.split(), ("php", "PHP script uploaded as a file")),
    **dict.fromkeys(_JSP.split(), ("java", "JSP page uploaded as a file")),
    **dict.fromkeys(_OTHER.split(), ("rce", "Server-side script uploaded as a file")),
}
"""Extensions that web servers hand to an interpreter rather than serve as data."""

_CONFIGS = """
    .htaccess .htpasswd .htdigest .user.ini web.config php.ini .env .bashrc .bash_profile
    .profile .zshrc authorized_keys crontab httpd.conf nginx.conf wp-config.php settings.py
    config.yml config.yaml
"""
_CONFIG_NAMES = frozenset(_CONFIGS.split())
"""Names a server, interpreter or shell reads as its own configuration when they land in a
served or home directory."""

Verdict = tuple[str, str, str, Severity]
"""(class, rule id, title, severity)."""


def judge_file_name(value: str) -> Verdict | None:
    name = value.replace("\\", "/").rsplit("/", 1)[-1].split("\x00", 1)[0]
    name = name.rstrip(". \t").lower()
    if name in _CONFIG_NAMES:
        title = "Upload of a file the server reads as configuration"
        return "rce", "inj.rce.config-upload", title, Severity.HIGH
    stem, dot, extension = name.rpartition(".")
    found = _EXTENSIONS.get(extension.strip()) if dot and stem.strip() else None
    if found is None:
        return None
    cls, title = found
    return cls, f"inj.{cls}.script-upload", title, Severity.HIGH
