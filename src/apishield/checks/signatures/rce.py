"""OS command injection signatures: a shell metacharacter that starts a new command, and the
commands, paths and evasions (IFS, globbing, quote splitting) attackers run through it.

Commands that are also English words (`time`, `more`, `find`, `set`...) only count when they are
followed by something shaped like an argument (a flag, a path, a variable) or end the value, so
"hello; more than that" stays silent while "; more /etc/hosts" does not.
"""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium
from apishield.checks.signatures.commands import (
    PROBES,
    PROGRAM_FAMILIES,
    PROGRAMS,
    WORDS,
    alternation,
    spelled_alternation,
)

_BIN = r"(?:/(?:usr/)?(?:local/)?s?bin/)?"
_TOOLS = alternation(tuple(p for p in PROGRAMS if not p.startswith("base")), PROGRAM_FAMILIES)
"""Commands whose name is not an everyday word: seeing one after a separator is enough."""
_WORDS = alternation(WORDS)
"""Commands that are also words: they need an argument-shaped follower."""
_LEADER_NAMES = (*PROBES, "ls")
_LEADERS = spelled_alternation(_LEADER_NAMES, PROGRAM_FAMILIES)
"""Commands that, at the start of a value and followed by any argument, are a probe."""
_SCRIPT = (
    r"[\w-]+\.(?:sh|bash|py|pl|rb|php|js|elf|bin|exe|ps1|bat|cmd|vbs|conf|cfg|ini|log|gz|tgz|"
    r"tar|zip|txt)\b"
)
"""A file argument a command runs or reads (`python3 x.py`, `tar x.tgz`)."""
_FETCHER_NAMES = ("curl", "wget", "ping", "nslookup", "telnet", "nc", "ncat", "ssh")
_FETCHERS = spelled_alternation(_FETCHER_NAMES)
"""Commands that reach a host: at the start of a value, followed by a host name, a probe."""
_LAUNCHERS = "|".join(
    (
        "time", "nohup", "strace", "ltrace", "sudo", "doas", "timeout", "nice", "env", "xargs",
        "watch", "exec", "setsid", "command", "builtin", "stdbuf",
    )
)  # fmt: skip
"""Commands that run the next word as a command (`nohup id`, `timeout 5 id`)."""
_COMMON = alternation(
    (
        "curl",
        "wget",
        *PROBES,
        "ls",
        "cat",
        "id",
        "ps",
        "sh",
        "bash",
        "nc",
        "env",
        "pwd",
        "python",
        "perl",
        "php",
    )
)
"""The commands attackers run most; evasions that cost pattern size are written for these."""
_BARE = alternation(
    ("whoami", "ifconfig", "ipconfig", "netstat", "printenv", "systeminfo", "tasklist")
)
"""Commands that are a probe even alone: they only report who and where the shell is."""
_SPELLED = spelled_alternation(
    (*PROBES, "cat", "tac", "wget", "bash", "dash", "passwd", "python", "perl", "ruby", "php")
)
"""The commands attackers most often disguise, in every spelling the shell accepts."""
_QUOTE = r"['\"\\$@!*?(){}<>]"


def _split(word: str) -> str:
    """`word` with quotes or backslashes inside it, as `w'h'o'ami` or `c\\at`, at least one."""
    gaps = []
    for cut in range(1, len(word)):
        head = f"{_QUOTE}*".join(word[:cut])
        tail = f"{_QUOTE}*".join(word[cut:])
        gaps.append(f"{head}{_QUOTE}+{tail}")
    return "|".join(gaps)


_SPLIT_WORDS = (
    "cat",
    "wget",
    "curl",
    "bash",
    "whoami",
    "uname",
    "passwd",
    "ifconfig",
    "ping",
    "time",
)
_SPLIT_TOOLS = "|".join(_split(word) for word in _SPLIT_WORDS)
"""Command names split by quotes, backslashes or empty expansions (`c$@at`, `pi$()ng`), which
the shell removes before running them; at least one split, so the plain word stays silent."""
_SEPARATOR = r"(?:[;|\r]|&&|\|\||\$\(\(?|[<>]\(|\(\s*\)|<<<|(?:^|[^&\s])\s*&|\$\{IFS\})"
"""What ends one command and starts the next: `;`, pipes, `&`, a newline, substitutions."""
_EMPTY = r"(?:\$[a-z_]\w*\s*|\$\{[^}\n]*\}\s*|\$@\s*|[({!]\s*)*"
"""What may stand between a separator and a command and still run it: empty variables
(`;$u wget`), a group or subshell opener, `!`."""
_ASSIGNED = r"(?:[;|\r]|&&|\|\|)\s*(?:\w+=[^\s;|&]*\s+)+"
"""Variable assignments before a command (`;A=1 wget`). Not after a lone `&`, which in a URL
query (`&q=black cat`) reads the same."""
_WRAPPER = (
    r"(?:(?:time|timeout|watch|command|builtin|exec|nohup|nice|sudo|doas|env|strace|ltrace|"
    r"busybox|setsid|stdbuf)\s+(?:-\S+\s+|\d+\s+)*)?"
)
"""A command that runs the next word as a command (`time id`, `timeout 5 id`)."""
_PATH = r"(?:/(?:usr/)?(?:local/)?s?bin/|\.\.?/)?[\\'\"]*"
"""A directory that holds programs, or the current one. Any other directory would make REST paths
(`; /v1/users/id`) read as commands."""
_GLOB_PATH = r"[\w./'\"\\-]*[?*\[\]'\"\\][\w?*\[\]./'\"\\-]*/[\\'\"]*"
"""A directory spelled with globs or quotes (`/???/`, `/u'sr'/bin/`), which only a shell reads."""
_EXE = r"(?:\.exe|\.com)?"
_AFTER_TOOL = r"(?:$|[\s<>|;&`'\"$)(,]|\$\{?IFS)"
_ENCODERS = r"base(?:32|64|nc)(?:$|[\s<>|;&`'\"$)(]|\$\{?IFS)"
"""The encoders, which never count when a comma follows: `data:image/png;base64,` is a data URI."""
_ARGUMENT = r"(?:\s+[-/~.$'\"%\\]|\s*$|\s*[;|&<>`])"
_LEADING_GATE = (
    rf"^\s*(?:/(?:usr/)?(?:local/)?s?bin/|\.\.?/)?(?:{_TOOLS}[\s&]|"
    rf"{alternation(_LEADER_NAMES, PROGRAM_FAMILIES)}(?:\.exe|\.com)?\s|{_BARE}|"
    rf"(?:{'|'.join(_FETCHER_NAMES)}|{_LAUNCHERS}|cpulimit|ps|dd|set)\s)|"
    r"\s(?:whoami|ifconfig|ipconfig)"
)
"""leading-command as the gate needs it: the same command names at the start of a value,
without what follows them. Where none of the gate's SUSPICIOUS characters is (no quote,
backslash, `$`, `*`, `?`, `;`, `|`, `<`, `>`, brackets), every spelling the shell accepts is the
plain name, so this matches wherever leading-command does (a test holds it to that)."""

SIGNATURES: tuple[Signature, ...] = (
    high(
        "chained-command",
        "rce",
        "Shell separator followed by a command",
        rf"{_SEPARATOR}\s*['\"]?\s*{_EMPTY}{_WRAPPER}{_PATH}(?:{_TOOLS}{_EXE}{_AFTER_TOOL}|{_ENCODERS})|"
        rf"{_SEPARATOR}\s*['\"]?\s*{_EMPTY}{_WRAPPER}{_WORDS}{_ARGUMENT}|"
        r"(?:^|[;|&])\s*cd\s+[/~.][^\s;|&]*\s*[;|&]|"
        rf"^\s*['\"]?{_WORDS}\s+(?:-[a-z]{{1,2}}|--[a-z][\w-]+)(?:\s|$)",
    ),
    high(
        "leading-command",
        "rce",
        "Value that starts with a command and its arguments, or names a probe command",
        rf"^\s*['\"]?{_BIN}{_TOOLS}(?:\s+(?:-{{1,2}}[a-z][\w-]*|[/~$][\w./$-]*|\${{?\w+|{_SCRIPT})|"
        r"\s*[;|&`<>)])|"
        rf"^\s*(?:{_LAUNCHERS}|cpulimit(?:\s+-\w+\s+\w+)*\s+-f)\s+(?:-\S+\s+|\d+\s+)*"
        rf"{_PATH}{_TOOLS}{_AFTER_TOOL}|"
        # any first argument but a bare number (`LS 300 Lexus` is a car; `nmap 10.0.0.1` counts)
        rf"^\s*['\"]?{_PATH}{_LEADERS}{_EXE}\s+(?:[^\s\d]|\d+[.:/])|"
        rf"^\s*['\"]?{_PATH}{_FETCHERS}\s+(?:https?://)?[\w-]+(?:\.[\w-]+)*\.[a-z]{{2,}}\b|^\s*['\"]?{_PATH}{_BARE}{_EXE}\s*$|"
        rf"^\s*['\"]?(?:nohup|strace|ltrace|sudo|doas|stdbuf|setsid)['\"]?\s+(?:-\S+\s+)*{_WORDS}\b|"
        r"^\s*ps\s+(?:-?[auxef]{1,4}|-[a-z]+\s+\w)(?:$|\s)|^\s*dd\s+(?:if|of|bs|count)=|"
        r"^\s*set\s+[-+]o\s+\w|\s(?:whoami|ifconfig|ipconfig)(?:\.exe)?\s*$",
        gate=_LEADING_GATE,
    ),
    high(
        "command-substitution",
        "rce",
        "Command substitution, process substitution or shell arithmetic",
        rf"\$\(\s*(?:{_PATH}{_TOOLS}|{_WORDS}){_AFTER_TOOL}|`\s*{_PATH}{_TOOLS}{_AFTER_TOOL}|"
        rf"`\s*{_WORDS}\s+[-/~$][^`\n]*`|%x[({{\[]\s*['\"]?\s*{_PATH}(?:{_TOOLS}|{_WORDS})\b|"
        r"[<>]\(\s*[a-z/]|\$\(\(|\$\[[^\]\n]*\]|\$\(\s*\w+\s*\)|\$\(\s*`",
    ),
    high(
        "binary-path",
        "rce",
        "Absolute path to a shell or network tool",
        r"/(?:usr/)?(?:local/)?s?bin/(?:ba|z|k|c|tc|da|a)?sh\b|"
        rf"/(?:usr/)?(?:local/)?s?bin/(?:{_TOOLS}|base(?:32|64)|echo|printf)(?:$|[^\w.-])|"
        r"/dev/(?:tcp|udp)/|\bbin/(?:cscli|visudo|sudo|su|passwd)\b",
    ),
    high(
        "shell-evasion",
        "rce",
        "Shell evasion: $IFS, glob paths, quote or backslash splitting of a command",
        r"\$\{?IFS\b|\$\{?PATH:|/\?\?\?/|/[a-z?]*[?*][a-z?*]*/[a-z?*]*[?*]|"
        rf"{_ASSIGNED}{_PATH}{_COMMON}{_AFTER_TOOL}|{_SEPARATOR}\s*['\"]?\s*{_GLOB_PATH}{_COMMON}{_AFTER_TOOL}|"
        # a command assembled in variables and run: a=/etc;c=cat;$c $a/passwd
        rf"{_SEPARATOR}\s*\$\{{?[a-z_]\w*\}}?\s+['\"]?(?:\$\{{?[a-z_]|/[a-z])|"
        # a glob in the name of a binary: /bin/ca? /etc/passwd, /usr/bin/w[h]oami
        r"/(?:usr/)?(?:local/)?s?bin/[\w?*]*(?:[?*]|\[[^\]\n/]*\])|"
        rf"\b(?:{_SPLIT_TOOLS})\b|{_SEPARATOR}\s*['\"]?\s*{_PATH}{_SPELLED}{_EXE}{_AFTER_TOOL}|"
        r"\{(?:cat|ls|id|wget|curl|nc|bash|sh|echo|uname|whoami),[^}\n]*\}|"
        r"(?:^|[^/:])/[\w.-]*\[[^\]\n/]{0,12}/*[^\]\n]{0,12}\][\w.-]*(?:/|$)|"
        rf"(?:^|[\s;|&])\\{_COMMON}{_AFTER_TOOL}|\$\{{?(?:SHELL|HOME|USER|PWD|BASH|0)\}}?\s+-[a-z]\b|"
        # parameter expansion that slices or rewrites a variable: ${PATH:0:1} is "/"
        r"\$\{[#!]?[a-z_]\w*(?::-?\d|:[-=?+]|//?[^}\n]|##?|%%?|\^\^?|,,?)[^}\n]*\}|"
        # tilde expansion to the directory stack (~+ is $PWD, ~-1 a pushd entry)
        r"(?:^|[;|&`])\s*~[+-]\d*(?:$|[;|&/)])|"
        # history expansion re-runs earlier commands: !-1, !!:s/a/b/
        r"(?:^|[\s;|&'\"=])!(?:-\d+|!:?[\w$^*]|\?\w+\?)(?:$|[\s;|&!:])",
    ),
    medium(
        "brace-expansion",
        "rce",
        "Shell brace or parameter expansion used to build a command",
        r"\{[a-z/.$'\"][\w./$'\"-]*,[^}\n\s]*\}|\$\{[a-z_]\w*\}|\{,[$'\"]*[a-z][\w./'\"-]*,[^}\n]*\}|"
        r"\balias\s+(?:[-+][\w+-]*\s+)*[^\s=]+=|\balias\s+-p\b|(?:^|[;|&])\s*\\?alias\s*(?:$|[;|&])",
    ),
    high(
        "shell-dash-c",
        "rce",
        "Shell invoked with a command string",
        r"\b(?:(?:ba|z|k|c|tc|da|a)?sh|busybox|cmd(?:\.exe)?)\s+(?:-\w+\s+)*[-/]c\b|"
        r"\$\{?shell\}?\s+-c\b|"
        # the SQLite command line runs a shell command with .shell or .system
        r"(?:^|[;\r\"']|\\n)\s*\.\s*(?:shell|system)\s+\S",
    ),
    high(
        "shellshock",
        "rce",
        "Shellshock or fork-bomb function definition",
        r"\(\s*\)\s*\{[^}\n]*;\s*\}\s*;|^\s*\(\s*\)\s*\{|\(\s*\)\s*\{\s*[:_]\s*;|"
        r"(?:^|[\s;])([:.\w]+)\(\s*\)\s*\{\s*[:.\w]+\s*\|\s*[:.\w]+\s*&\s*\}",
    ),
    high(
        "reverse-shell",
        "rce",
        "Reverse shell or download-and-run one-liner",
        r"\bnc(?:at)?\s+(?:-[a-z]*\s+)*-[a-z]*[ec]\b|\bbash\s+-i\b|\bsh\s+-i\b|"
        r"\b(?:wget|curl)\b[^\n|;]*(?:\|\s*(?:ba)?sh\b|-o\s*/tmp/|;\s*chmod)|"
        r"\bmkfifo\s+/tmp/|\bpython[23]?\s+-c\s*['\"]|\bperl\s+-e\s*['\"]|\bruby\s+-e\s*['\"]|"
        r"\bphp\s+-r\s*['\"]|\bsocket\.socket\s*\(",
    ),
    high(
        "windows-batch",
        "rce",
        "Windows batch FOR or IF statement",
        r"\bfor(?:\s+/[a-z])*(?:\s+[a-z]:\\\S*)?(?:\s+\"[^\"\n]*\")?\s+%%?\S+\s+in\s*\(|"
        r"\bif(?:\s*/i)?(?:\s+not)?\s+(?:exist\s+\S|errorlevel\s+\d)|"
        r"\bif(?:\s*/i)?(?:\s+not)?\s+defined\s+\S+\s+(?:\(|set\b|@?echo\b|goto\b|call\b|exit\b)|"
        r"\bif(?:\s*/i)?(?:\s+not)?\s+(?:\S+|\"[^\"\n]*\")\s*(?:==|\s(?:equ|neq|lss|leq|gtr|geq)\s)"
        r"\s*\S|%(?:comspec|systemroot|windir|errorlevel|userprofile|appdata|programfiles)%",
    ),
    high(
        "windows-command",
        "rce",
        "Windows shell command",
        r"\bcmd(?:\.exe)?\s*/[ckr]\b|\b(?:c:)?\\windows\\system32\\(?:cmd|powershell|"
        r"wbem|certutil|rundll32|mshta)|\bnet1?\s+(?:user|localgroup|group|view|share|use)\b\s*\S|"
        r"\breg(?:\.exe)?\s+(?:query|add|delete|save|export)\s+['\"]?hk|\bregedit\s+/[es]\b|"
        r"\bwmic\s+(?:process|os|useraccount|service|shadowcopy|/node)|"
        r"\bvssadmin\s+(?:delete|list|create)|\bbcdedit\s+/|\bcertutil\s+-(?:urlcache|decode|"
        r"encode)|\bschtasks\s+/(?:create|run)|\bbitsadmin\s+/transfer|"
        # reconnaissance that needs no argument, as the whole value or after a separator
        rf"(?:^|{_SEPARATOR})\s*net1?(?:\.exe)?\s+(?:view|user|localgroup|share|session|accounts)"
        r"\s*$|"
        # a directory listing of a drive: ; dir C:\Users
        rf"(?:^|{_SEPARATOR})\s*dir(?:\s+/[a-z])*\s+['\"]?[a-z]:[\\/]",
    ),
    high(
        "time-probe",
        "rce",
        "Command that stalls for a number of seconds (the blind time-based probe)",
        rf"{_SEPARATOR}\s*['\"]?\s*{_EMPTY}{_PATH}(?:sleep|timeout(?:\.exe)?\s+/t|ping(?:\.exe)?\s+"
        r"(?:-[a-z]+\s+)*-[nc]|usleep)\s+\d+|`\s*sleep\s+\d+|"
        r"^\s*sleep\s+\d+(?:\.\d+)?[smhd]?\s*$",
    ),
    high(
        "powershell",
        "rce",
        "PowerShell cmdlet or download cradle",
        r"\bpowershell(?:\.exe)?\b[^\n]*\s-(?:e|ec|enc|encodedcommand|c|command|nop|noprofile|"
        r"w|windowstyle|ep|exec|executionpolicy|noni|noninteractive|f|file)\b|"
        r"\b(?:invoke-(?:webrequest|expression|command|restmethod|item|wmimethod|shellcode|"
        r"mimikatz)|iex\s*\(|iwr\s+|new-object\s+(?:system\.)?net\.webclient|"
        r"\.downloadstring\s*\(|\.downloadfile\s*\(|start-process\b|get-(?:wmiobject|childitem|"
        r"content|process|service|itemproperty|localuser|acl|credential)\b|"
        r"set-(?:executionpolicy|itemproperty|mppreference|content)\b|"
        r"remove-(?:item|itemproperty)\b|new-(?:item|service|localuser)\b|"
        r"add-(?:type|mppreference|content)\b|out-file\b|import-module\b|"
        r"\[system\.(?:convert|text\.encoding|io\.|net\.|reflection)\]?)|"
        # a PowerShell alias run as a new command: ;iwmi -class ..., |sls pass
        rf"{_SEPARATOR}\s*[(@'\"]*\s*(?:iex|iwr|iwmi|gwmi|rwmi|swmi|icm|saps|spps|sls|gci|gcm|"
        r"ipmo|sal|nal|sajb|gsv|sasv|spsv|ii|ni|ri|gdr|ghy|ihy|gjb|rcjb|epcsv|ipcsv)\s+[-$('\"\w]",
    ),
    medium(
        "redirection",
        "rce",
        "Shell redirection into a system or web path",
        r"[>|]\s*/(?:tmp|var/www|dev/shm|etc|root|home)/|2>&1|>\s*/dev/null|\|\s*(?:ba)?sh\b|"
        r"<<<",
    ),
)
