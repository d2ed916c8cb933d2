"""Path traversal, local file inclusion and remote file inclusion signatures."""

from __future__ import annotations

from apishield.checks.signatures.base import Signature, high, medium

_NAME = r"[^/\\\s?#&=]"


def _hidden_dir_except(word: str) -> str:
    """A `.name/` path step whose name is not `word`: Hyperscan has no lookahead, so spell out
    every way a name can part from `word` (differ at some letter, or stop early or run on)."""
    alternatives = [f"{word[:cut]}[^{word[cut]}/\\\\\\s?#&=]{_NAME}*" for cut in range(len(word))]
    alternatives += [word[:cut] for cut in range(1, len(word))]
    alternatives.append(f"{word}{_NAME}+")
    return "(?:" + "|".join(alternatives) + ")"


SIGNATURES: tuple[Signature, ...] = (
    high(
        "traversal",
        "lfi",
        "Repeated ../ path traversal",
        r"(?:\.\.+[/\\;]+){2,}|(?:[/\\]\.\.+){2,}|\.\.+[/\\]+\.?[/\\]*\.\.+|"
        r"\.\.+[/\\]+(?:etc|proc|windows|winnt|boot|usr|var|root|home|system32|inetpub)\b",
    ),
    medium(
        "dot-dot",
        "lfi",
        "Single ../ step out of a directory",
        r"(?:^|[/\\=])\.\.[/\\]|[/\\]\.\.(?:$|[/\\;])",
    ),
    high(
        "sensitive-file",
        "lfi",
        "Request for a well-known sensitive system file",
        r"/etc/(?:passwd|shadow|group|gshadow|hosts|issue|motd|hostname|crontab|sudoers|"
        r"fstab|resolv\.conf|profile|bashrc|security|ssh/|mysql/|apache2?/|httpd/|nginx/|php|"
        r"master\.passwd|pwd\.db|spwd\.db|os-release|environment|inittab|network)|"
        r"/proc/(?:self|\d+)/(?:environ|cmdline|fd|maps|status|mem|exe|cwd|root|mounts)|"
        r"/proc/(?:version|cpuinfo|meminfo|mounts|net/)|"
        r"\b(?:boot|win|system)\.ini\b|\bwindows[/\\]+(?:win\.ini|repair[/\\])|"
        r"\bsystem32[/\\]+(?:config[/\\]+sam|drivers[/\\]+etc|cmd\.exe)|\binetpub[/\\]|"
        r"\bweb-inf[/\\]+(?:web|classes)|\.htaccess\b|\.htpasswd\b|"
        r"\.ssh/(?:id_[rd]sa|id_ecdsa|id_ed25519|authorized_keys|known_hosts)|"
        r"\.(?:bash|zsh|mysql|psql)_history\b|/var/log/(?:apache|httpd|nginx|auth|syslog|secure|"
        r"messages)|/var/run/secrets/|\.aws/credentials\b|\.git/(?:config|head)\b|"
        r"/root/\.|\bc:[/\\]+(?:boot\.ini|inetpub[/\\])",
    ),
    high(
        "stream-wrapper",
        "lfi",
        "PHP stream wrapper or file:// URL",
        r"\b(?:php://[a-z]+|file:/|phar://|zip://|"
        r"expect://|glob://|compress\.(?:zlib|bzip2)://|zlib:|ogg://|rar://|ssh2\.[a-z]+://|"
        r"jar:(?:file|https?):)",
    ),
    medium(
        "system-path",
        "lfi",
        "System configuration or application server path",
        r"(?:^|[\s=:'\"(/\\])/etc/[\w.-]+|\bweb\.config\b|\b(?:web|meta)-inf\b|/var/www/|"
        r"\.(?:bash_profile|bashrc|profile|zshrc|bash_logout|viminfo|lesshst)\b",
    ),
    medium(
        "dotfile",
        "lfi",
        "Hidden configuration or secret file of a project or host",
        r"(?:^|/)\.(?:env|git|svn|hg|bzr|docker|aws|azure|gcloud|ssh|gnupg|kube|npmrc|netrc|"
        r"pgpass|bash_history|ds_store|idea|vscode|claude|cursor|roo|zed|windsurf|codex|"
        r"opencode|plandex|fabric|aider|continue|terraform|vagrant|config)[\w.-]*(?:$|/)|"
        r"/sys/(?:class|kernel|devices|firmware)\b|(?:^|/)(?:debug|error|errors|access)\.log$|"
        r"\bsecrets/|\bid_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?$",
    ),
    medium(
        "hidden-directory",
        "lfi",
        "Path into a hidden directory (tool configuration, VCS data, secrets)",
        rf"(?:^|[/\\])\.{_hidden_dir_except('well-known')}[/\\]+[\w.-]",
    ),
    medium(
        "null-truncation",
        "lfi",
        "Null byte that truncates a file extension",
        r"%00\.[a-z0-9]{1,5}\b|\\0\.[a-z]{2,4}\b|%00$",
    ),
    high(
        "remote-include",
        "rfi",
        "URL whose query is cut off with ?, #, %00 or a trailing path trick",
        r"^\s*(?:https?|ftps?|smb|data|dav)://[^\n]*(?:\?+$|#$|%00|\?[^\n=]*$)",
    ),
    high(
        "ip-script",
        "rfi",
        "URL to a bare IP address fetching a script or text file",
        r"(?:https?|ftps?)://\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d+)?/[^\n]*\."
        r"(?:php\d?|phtml|txt|sh|pl|py|jsp|aspx?|cgi|gif\?|jpg\?)",
    ),
    medium(
        "ip-url",
        "rfi",
        "URL to a bare IP address",
        r"\b(?:https?|ftps?|smb|webdav):(?:/|\\){2}\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b",
    ),
    medium(
        "include-param",
        "rfi",
        "Remote URL in a parameter that names a script kept as text (.txt, .inc, .sh...)",
        r"^(?:https?|ftps?)://[^\n]*\.(?:txt|inc|sh|pl|py|cgi)(?:$|\?)",
    ),
)
