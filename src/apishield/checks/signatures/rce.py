"""OS command injection signatures: a shell metacharacter that starts a new command, and the
commands, paths and evasions (IFS, globbing, quote splitting) attackers run through it.

Commands that are also English words (`time`, `more`, `find`, `set`...) only count when they are
followed by something shaped like an argument (a flag, a path, a variable) or end the value, so
"hello; more than that" stays silent while "; more /etc/hosts" does not.
"""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium

_BIN = r"(?:/(?:usr/)?(?:local/)?s?bin/)?"
_TOOLS = (
    r"(?:ls|id|ps|pwd|env|printenv|uname|whoami|hostname|ifconfig|ipconfig|netstat|ss|lsof|"
    r"wget|curl|lwp-download|nc|ncat|netcat|socat|telnet|ssh|scp|sftp|ftp|tftp|rsync|"
    r"(?:ba|z|k|c|tc|da|a|fi)?sh|busybox|python[23]?(?:\.\d+)?|perl|ruby|php\d?|lua|node|"
    r"nmap|nslookup|dig|traceroute|tcpdump|chmod|chown|chattr|lsattr|rm|mv|cp|ln|mkdir|rmdir|"
    r"cat|tac|nl|xxd|hexdump|od|strings|base32|base64|awk|gawk|sed|grep|egrep|xargs|"
    r"crontab|useradd|usermod|userdel|passwd|sudo|su|visudo|nohup|mkfifo|mknod|systemctl|"
    r"gcc|cc|c89|c99|g\+\+|gdb|strace|ltrace|ldd|openssl|iptables|setsid|lastlog|htop|top|"
    r"killall|pkill|reboot|halt|mount|umount|finger|arp|ping|ping6|tar|zip|unzip|gzip|"
    r"gunzip|bzip2|7z|dd|apt|apt-get|aptitude|yum|dnf|dpkg|rpm|pip3?|npm|docker|kubectl|"
    r"ansible(?:-[a-z]+)?|chef-[a-z]+|cpulimit|hexedit|vim|nano|emacs|"
    r"dmesg|journalctl|getent|uptime|sysctl|modprobe|insmod|tmux|"
    r"rmt|cscli|regedit|bcdedit|bcdboot|diskpart|vssadmin|wevtutil|icacls|takeown|"
    r"attrib|cacls|msiexec|bitsadmin|certutil|schtasks|net1|wmic|systeminfo|tasklist|"
    r"taskkill|netsh|powershell|pwsh|cmd|mshta|rundll32|regsvr32|cscript|wscript|"
    r"forfiles|findstr|xcopy|robocopy|nltest|dsquery|qwinsta)"
)
"""Commands whose name is not an everyday word: seeing one after a separator is enough."""
_WORDS = (
    r"(?:time|more|less|head|tail|find|sort|uniq|cut|tr|file|stat|which|whereis|locate|"
    r"kill|sleep|touch|echo|printf|set|unset|export|exec|eval|source|history|alias|host|"
    r"type|copy|del|dir|start|ver|call|goto|exit|shutdown|timeout|watch|nice|expr|test|"
    r"read|wait|trap|shift|cd|md|where|tree|print|mail|at|sc|last|who|w|top|ed|vi|"
    r"column|comm|groups|screen|rev|cc|net|reg|base)"
)
"""Commands that are also words: they need an argument-shaped follower."""
_QUOTE = r"['\"\\]"


def _split(word: str) -> str:
    """`word` with quotes or backslashes inside it, as `w'h'o'ami` or `c\\at`, at least one."""
    gaps = []
    for cut in range(1, len(word)):
        head = f"{_QUOTE}*".join(word[:cut])
        tail = f"{_QUOTE}*".join(word[cut:])
        gaps.append(f"{head}{_QUOTE}+{tail}")
    return "|".join(gaps)


_SPLIT_TOOLS = "|".join(
    _split(word)
    for word in ("cat", "wget", "curl", "bash", "whoami", "uname", "passwd", "ifconfig", "netcat")
)
"""Command names split by quotes or backslashes, which the shell removes before running them."""
_EMPTY = r"(?:\$[a-z_]\w*\s*|\$\{[^}\n]*\}\s*|\$@\s*)*"
"""Empty variables an attacker puts before a command name (`;$u wget`); the shell drops them."""
_AFTER_TOOL = r"(?:$|[\s<>|;&`'\"$)(,]|\$\{?IFS)"
_ARGUMENT = r"(?:\s+[-/~.$'\"%\\]|\s*$|\s*[;|&<>`])"

SIGNATURES: tuple[Signature, ...] = (
    high(
        "chained-command",
        "rce",
        "Shell separator followed by a command",
        rf"(?:[;|\r]|&&|\|\||\$\(|[^&\s]\s*&|\$\{{IFS\}})\s*['\"]?\s*{_EMPTY}{_BIN}{_TOOLS}"
        rf"{_AFTER_TOOL}|"
        rf"(?:[;|\r]|&&|\|\||\$\(|\$\{{IFS\}})\s*['\"]?\s*{_WORDS}{_ARGUMENT}",
    ),
    high(
        "leading-command",
        "rce",
        "Value that starts with a command and its flags or a path argument",
        rf"^\s*['\"]?{_BIN}{_TOOLS}(?:\s+(?:-{{1,2}}[a-z][\w-]*|[/~$][\w./$-]*|\${{?\w+)|"
        r"\s*[;|&`])|"
        rf"^\s*(?:time|nohup|strace|ltrace|sudo|timeout|nice|env|xargs|watch|exec|setsid|"
        rf"stdbuf|cpulimit(?:\s+-\w+\s+\w+)*\s+-f)\s+(?:-\S+\s+)*{_BIN}{_TOOLS}{_AFTER_TOOL}",
    ),
    high(
        "command-substitution",
        "rce",
        "Command substitution, process substitution or shell arithmetic",
        rf"\$\(\s*(?:{_BIN}{_TOOLS}|{_WORDS}){_AFTER_TOOL}|`\s*{_BIN}{_TOOLS}(?:\s+[^`\n]*)?`|"
        r"[<>]\(\s*[a-z/]|\$\(\(|\$\[[^\]\n]*\]|\$\(\s*\w+\s*\)",
    ),
    high(
        "binary-path",
        "rce",
        "Absolute path to a shell or network tool",
        r"/(?:usr/)?(?:local/)?s?bin/(?:ba|z|k|c|tc|da|a)?sh\b|"
        r"/(?:usr/)?(?:local/)?s?bin/(?:nc|ncat|netcat|socat|wget|curl|python[23]?|perl|"
        r"ruby|php|telnet|busybox|id|whoami|uname|cat|ls|chmod|rm|echo|env|nslookup|ping)\b|"
        r"/dev/(?:tcp|udp)/|\bbin/(?:cscli|visudo|sudo|su|passwd)\b",
    ),
    high(
        "shell-evasion",
        "rce",
        "Shell evasion: $IFS, glob paths, quote or backslash splitting of a command",
        r"\$\{?IFS\b|\$\{?PATH:|/\?\?\?/|/[a-z?]*[?*][a-z?*]*/[a-z?*]*[?*]|"
        rf"\b(?:{_SPLIT_TOOLS})\b|"
        r"\{(?:cat|ls|id|wget|curl|nc|bash|sh|echo|uname|whoami),[^}\n]*\}|"
        r"/[\w.-]*\[[^\]\n/]{0,12}/*[^\]\n]{0,12}\][\w.-]*(?:/|$)|"
        rf"(?:^|[\s;|&])\\{_TOOLS}{_AFTER_TOOL}|\$\{{?(?:SHELL|HOME|USER|PWD|BASH|0)\}}?\s+-[a-z]\b",
    ),
    medium(
        "brace-expansion",
        "rce",
        "Shell brace expansion used to build a command name",
        r"\{[a-z][\w./-]*,[\w./-]*\}|"
        r"\balias\s+(?:[-+]\w+\s+)*[^\s=]+=",
    ),
    high(
        "shell-dash-c",
        "rce",
        "Shell invoked with a command string",
        r"\b(?:(?:ba|z|k|c|tc|da|a)?sh|busybox|cmd(?:\.exe)?)\s+(?:-\w+\s+)*[-/]c\b|"
        r"\$\{?shell\}?\s+-c\b",
    ),
    high(
        "shellshock",
        "rce",
        "Shellshock function definition",
        r"\(\s*\)\s*\{[^}\n]*;\s*\}\s*;|^\s*\(\s*\)\s*\{",
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
        r"\breg(?:\.exe)?\s+(?:query|add|delete|save)\s+hk|\bregedit\s+/[es]\b|"
        r"\bwmic\s+(?:process|os|useraccount|service|shadowcopy|/node)|"
        r"\bvssadmin\s+(?:delete|list|create)|\bbcdedit\s+/|\bcertutil\s+-(?:urlcache|decode|"
        r"encode)|\bschtasks\s+/(?:create|run)|\bbitsadmin\s+/transfer",
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
        r"\[system\.(?:convert|text\.encoding|io\.|net\.|reflection)\]?)",
    ),
    medium(
        "redirection",
        "rce",
        "Shell redirection into a system or web path",
        r"[>|]\s*/(?:tmp|var/www|dev/shm|etc|root|home)/|2>&1|>\s*/dev/null|\|\s*(?:ba)?sh\b|"
        r"<<<",
    ),
)
