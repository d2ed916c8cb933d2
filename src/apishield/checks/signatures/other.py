"""Injection into server-side JavaScript, Perl and Ruby; prototype pollution; session fixation
through a value that sets a cookie; and the user agents of attack tools.

Each is a family of its own, so findings name it: a Node.js `child_process` call is not PHP,
and a scanner's user agent is reconnaissance, not an injection of any language.
"""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium
from apishield.checks.signatures.java import base64_spellings

_NODE_MODULES = r"(?:child_process|fs|net|vm|os|http|https|dgram|cluster|worker_threads)"
_FOREVER = (
    r"(?:!!\s*)*[+-]?\s*(?:true|[1-9]\d*|infinity|this|\[\s*\]|\{\s*\})|"
    r"!+\s*(?:false|null|undefined|nan|[+-]?0|\"\"|''|``)"
)
"""A loop condition that never changes: a constant, or a falsy constant negated."""
_SCANNERS = (
    r"(?:nikto|sqlmap|havij|arachni|nuclei|nessus|zgrab|masscan|nmap\s+scripting\s+engine|"
    r"acunetix|netsparker|w3af|wpscan|dirbuster|gobuster|wfuzz|openvas|commix|skipfish|"
    r"whatweb|jaeles|fimap|dotdotpwn|sqlninja|pangolin|webinspect|appscan|zmeu|morfeus|"
    r"paros|grabber|bsqlbf|brutus|nsauditor|webshag|xsstrike|dirsearch|feroxbuster|"
    r"detectify|burpcollaborator|wapiti|vega/|ffuf|fuzz\s+faster\s+u\s+fool|zap/)"
)
_OAST = (
    r"(?:burpcollaborator\.net|oastify\.com|oast\.(?:pro|live|site|online|fun|me)|"
    r"interact(?:sh)?\.(?:sh|com)|dnslog\.cn|ceye\.io|bxss\.me|xss\.ht)"
)
"""Domains of out-of-band testing services: a request that names one is waiting for a blind
injection (SSRF, command, XXE, Log4Shell) to call home. Services that teams use for their own
webhooks (webhook.site, pipedream, requestbin) are left out."""

_NODE_BASE64 = (
    b"_FUNC$$_",
    b"__js_function",
    b"child_process",
    b"require(",
    b"function(",
    b"function (",
    b"while(true)",
    b"while(1)",
    b"process.env",
    b"mainModule",
    b"execSync(",
    b"spawnSync(",
)
"""Node.js payloads as sent in base64 cookies, the way node-serialize exploits deliver them."""

SIGNATURES: tuple[Signature, ...] = (
    high(
        "node-serialize",
        "nodejs",
        "node-serialize function marker, which unserialize() turns into a call",
        r"_\$\$ND_FUNC\$\$_|\b__js_function\b",
    ),
    high(
        "node-module",
        "nodejs",
        "Node.js module that runs commands or touches files, loaded or aliased from a value",
        rf"\brequire\s*\(\s*['\"`]{_NODE_MODULES}['\"`]|\bchild_process\b|"
        r"\brequire\s*\[|[=(,]\s*require\s*[;,)]|\bprocess\s*\.\s*mainmodule\b|"
        r"\bprocess\s*(?:\.\s*|\[\s*['\"`])(?:env|binding|_linkedbinding|dlopen|kill|exit|"
        r"reallyexit|abort|mainmodule|cwd|chdir|openstdin|stdin|stdout|stderr|argv|execpath|"
        r"getuid|setuid|setgid|umask|pid|ppid|platform|versions?|memoryusage|nexttick)\b|"
        r"\b(?:exec|spawn|execfile)sync\s*\(|\brequire\s*\.\s*(?:main|cache|resolve)\b|"
        r"\.\s*spawn\s*\(\s*['\"`]|\bmodule\s*\.\s*exports\s*=|"
        r"\bglobal(?:this)?\s*\.\s*(?:process|require)\b",
    ),
    high(
        "endless-loop",
        "nodejs",
        "Loop that never ends, sent to code that evaluates it (denial of service)",
        rf"\bwhile\s*\(+\s*(?:{_FOREVER})\s*\)+|\bfor\s*\(\s*;\s*;\s*\)",
    ),
    high(
        "proto-key",
        "prototype_pollution",
        "JavaScript prototype reached through __proto__ or constructor.prototype",
        r"\b__proto__\b|\bconstructor\s*(?:\.|\[\s*['\"`]?)\s*prototype\b",
    ),
    high(
        "interpolation",
        "perl",
        "Perl code interpolated into a string with @{[ ... ]}",
        r"@+\{\s*\[",
    ),
    high(
        "ruby-exec",
        "ruby",
        "Ruby call that runs commands or evaluates code",
        r"\b(?:process|kernel)\s*\.\s*(?:spawn|exec|system|fork|eval|open)\b|"
        r"\bio\s*\.\s*popen\b|\bopen3\s*\.\s*\w+|\b(?:instance|class|module)_eval\b|"
        r"%x\s*[{(\[|]|\.send\s*\(\s*:(?:system|exec|eval|spawn)\b",
    ),
    high(
        "cookie-set",
        "session_fixation",
        "Value that sets a cookie in the browser (document.cookie or meta set-cookie)",
        r"\.cookie\b[^\n]*?;\W*(?:expires|domain)\W*=|"
        r"\bhttp-equiv\W+set-cookie\b",
    ),
    medium(
        "scanner-agent",
        "scanner",
        "User agent of a known vulnerability scanner",
        rf"^\s*{_SCANNERS}(?:$|[\s/;(_-]|\d)|\(\s*compatible\s*;\s*{_SCANNERS}|"
        rf"\)\s*{_SCANNERS}\s*$|\bmozilla/[\d.]+\s+{_SCANNERS}|[(;]\s*{_SCANNERS}[\s/;)_-]|"
        r"\.nasl\b",
    ),
    medium(
        "oast-domain",
        "scanner",
        "Host of an out-of-band testing service, where a blind injection would call home",
        rf"[a-z0-9-]\.{_OAST}\b",
    ),
    medium(
        "js-code",
        "nodejs",
        "JavaScript function literal or constructor walk sent to code that evaluates it",
        r"\bfunction\s*\(\s*\)\s*\{|\bthis\s*\.\s*constructor\b|"
        r"\bconstructor\s*(?:\.|\[\s*['\"`])\s*constructor\b|\bbuffer\s*\.\s*from\s*\(",
    ),
    high(
        "node-base64",
        "nodejs",
        "node-serialize marker, child_process, require( or an endless loop in base64",
        "|".join(base64_spellings(word) for word in _NODE_BASE64),
        flags=0,
    ),
)
