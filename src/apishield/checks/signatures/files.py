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


_DOT = (
    r"(?:\.|%2e|0x2e|%u002e|%uff0e|%u2024|%c0\.|%c0%2e|%c0%ae|%c0%5e|%c0%ee|%c0%fe|%c0%6e|"
    r"%e0%80%ae|%f0%80%80%ae|%f8%80%80%80%ae|%fc%80%80%80%80%ae|%25(?:2e|c0%25ae)|"
    r"%%32%%65|%%32%45|%%32e|%2%45)"
)
"""A dot in every spelling a lenient decoder turns into `.`: percent, double percent, IIS `%u`,
overlong UTF-8 (valid and invalid), and escapes of the escape itself (`%%32%65`)."""
_SLASH = (
    r"(?:[/\\]|%2f|%5c|0x2f|0x5c|%25(?:2f|5c|c0%25af|c1%259c)|%c0%2f|%c0%af|%c0%5c|%c1%9c|"
    r"%c1%pc|%c0%9v|%c0%qf|%c1%8s|%c1%1c|%c1%af|%bg%qf|%u2215|%u2216|%uefc8|%uf025|%u002f|"
    r"%e0%80%af|%f0%80%80%af|%f8%80%80%80%af|%%32%%66|%%35%%63|%%32%46|%%32f|%2%46)"
)
"""A slash or backslash in the same spellings, plus the Unicode division slash and set minus."""

SIGNATURES: tuple[Signature, ...] = (
    high(
        "traversal",
        "lfi",
        "Repeated ../ path traversal",
        r"(?:\.\.+[/\\;]+){2,}|(?:[/\\]\.\.+){2,}|\.\.+[/\\]+\.?[/\\]*\.\.+|"
        r"\.\.+[/\\]+(?:etc|proc|windows|winnt|boot|usr|var|root|home|system32|inetpub)\b|"
        # a climb with an encoded or padded dot or slash (/%c0%ae%c0%ae/, /.%00./): dotdotpwn
        rf"{_SLASH}(?:{_DOT}(?:%0[01]|\?)?){{2,3}}{_SLASH}|[/\\]\.{{3,}}[/\\]|"
        rf"^(?:0x2e|%%32%%65|%%32%45|%%32e|%2%45){{2,3}}{_SLASH}|"
        # the climb with its `%` dropped (`..2f..2fetc2fpasswd`), for a filter that strips `%`
        r"^\.\.(?:2f|5c)|(?:\.\.(?:2f|5c)){2,}",
    ),
    medium(
        "dot-dot",
        "lfi",
        "Single ../ step out of a directory",
        r"(?:^|[/\\=])\.\.[/\\]|[/\\]\.\.(?:$|[/\\;])|"
        # the same step with the dots or the slash escaped (`%2e%2e%2f`, `%c0%ae%c0%ae%c0%af`)
        rf"^{_DOT}{{2}}{_SLASH}",
    ),
    high(
        "sensitive-file",
        "lfi",
        "Request for a well-known sensitive system file",
        r"(?:^|[^\w.-])/*etc(?:[/\\]+\.?)*[/\\]+(?:passwd|shadow|group|gshadow|hosts|issue|motd|hostname|crontab|sudoers|"
        r"fstab|resolv\.conf|profile|bashrc|security|ssh/|mysql/|apache2?/|httpd/|nginx/|php|"
        r"master\.passwd|pwd\.db|spwd\.db|os-release|environment|inittab|network)|"
        r"(?:^|[/\\])master\.passwd\b|"
        r"/proc/(?:self|\d+)/(?:environ|cmdline|fd|maps|status|mem|exe|cwd|root|mounts)|"
        r"/proc/(?:version|cpuinfo|meminfo|mounts|net/)|"
        r"\b(?:boot|win|system)\.ini\b|\bwindows[/\\]+(?:win\.ini|repair[/\\])|"
        r"\bsystem32[/\\]+(?:config[/\\]+sam|drivers[/\\]+etc|cmd\.exe)|\binetpub[/\\]|"
        r"\bweb-inf[/\\]+(?:web|classes)|\.htaccess\b|\.htpasswd\b|"
        r"\.ssh/(?:id_[rd]sa|id_ecdsa|id_ed25519|authorized_keys|known_hosts)|"
        r"\.(?:bash|zsh|mysql|psql)_history\b|/var/log/(?:apache|httpd|nginx|auth|syslog|secure|"
        r"messages)|/var/run/secrets/|\.aws/credentials\b|\.git/(?:config|head)\b|"
        r"/root/\.|\bc:[/\\]+(?:boot\.ini|inetpub[/\\])|"
        r"\b[a-z]:[/\\]+(?:windows|winnt)[/\\]+(?:win\.ini|system\.ini|repair|"
        r"panther|debug[/\\]+netsetup|php\.ini|iis\d*\.log)|\bwp-config(?:[._ -]*\w+)*",
    ),
    medium(
        "encoded-path",
        "lfi",
        "Traversal or system path written in base64, for an app that decodes a file parameter",
        # base64 of "../../", "../etc", "/etc/", "/proc/", "etc/passwd", "etc/shadow" at the
        # start of a value, where a whole encoded path begins on a 3-byte boundary
        r"^(?:Li4v(?:Li4v|ZXRj)|L2V0Yy9|L3Byb2Mv|ZXRjL3Bhc3N3ZA|ZXRjL3NoYWRvd)",
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
        r"/usr/share/nginx/|/srv/(?:www|http)/|"
        # where servers keep their own configuration, data and mail outside /etc
        r"/usr/local/(?:apache2?|httpd|nginx|etc|lib/php|mysql)/|/opt/(?:lampp|xampp|bitnami)/|"
        r"/var/(?:lib/(?:mysql|pgsql|postgresql|php)|mail|spool/(?:cron|mail)|adm|backups)/|"
        # a server's own configuration, data or log file by its well-known name, at the end
        r"[/\\](?:httpd|apache2?|nginx|php-fpm|php|my|lighttpd|proftpd|vsftpd|pure-?ftpd|"
        r"postgresql|pg_hba|pg_ident|tomcat-users|metabase|odbc|mysql-bin|mysql|hostname)"
        r"\.(?:conf|cnf|ini|xml|pdb|err|log)\s*$|[/\\](?:master|model|msdb)\.mdf\s*$|"
        r"[/\\]sess_[\w<>-]+\s*$|[/\\]mlocate\.db\s*$|[/\\]cpanel\.config\s*$|"
        # system logs, runtime sockets, mounted secrets and the boot loader of a host
        r"(?:^|[\s=:'\"(])/var/(?:log|run)(?:/[\w.-]+|/?\s*$)|(?:^|[\s=:'\"(])/run/secrets/|"
        r"/var/lib/(?:kubelet|docker|containerd)/|(?:^|[\s=:'\"(])/boot/[\w.-]+|"
        r"\b(?:windows|winnt)[/\\]+(?:panther|debug|system32[/\\]+(?:inetsrv|license|eula))[/\\.]|"
        r"\bapplicationhost\.config\b|(?:^|[/\\])global\.asax?$|"
        r"\.(?:bash_profile|bashrc|profile|zshrc|bash_logout|viminfo|lesshst)\b|"
        r"(?:^|[\s=:'\"(])/proc/",
    ),
    medium(
        "windows-system-path",
        "lfi",
        "Absolute Windows path to system secrets, a server stack or the administrator's profile",
        r"(?:^|[\s=:'\"(/\\])[a-z]:[/\\]*(?:(?:windows|winnt)[/\\]+(?:win\.ini|system\.ini|"
        r"repair|panther|debug|temp|[\w-]+\.(?:log|ini)\b|"
        r"system32[/\\]+(?:config|drivers[/\\]+etc|inetsrv|license|logfiles))|"
        r"(?:inetpub|sysprep|unattend|\$recycle\.bin|minint|xampp|wamp\d*|appserv|apache2?|"
        r"apache\s+group|php\d*|mysql|nginx|tomcat|logs?)(?:[/\\.]|$)|boot\.ini|"
        r"program\s*files(?:\s+\(x86\))?[/\\]+(?:apache|mysql|filezilla|php|xampp|tomcat|"
        r"postgresql|microsoft\s+sql\s+server)|"
        r"(?:documents\s+and\s+settings|users)[/\\]+(?:administrator|all\s+users|default)\b)",
    ),
    medium(
        "server-log",
        "lfi",
        "Path to a web or mail server's log (the file a log-poisoning inclusion reads)",
        r"[/\\](?:logs?|httpd|apache2?|nginx)[/\\][^\n]*?(?:access|error)[_.]log\b|"
        r"[/\\](?:access|error)_log$|[/\\]logs?[/\\](?:access|error)\.log$|"
        r"[/\\]spool[/\\]mqueue[/\\]|[/\\]cpanel[/\\]logs[/\\]",
    ),
    medium(
        "dotfile",
        "lfi",
        "Hidden configuration or secret file of a project or host",
        r"(?:^|/)\.(?:env|git|svn|hg|bzr|docker|aws|azure|gcloud|ssh|gnupg|kube|npmrc|netrc|"
        r"pgpass|bash_history|ds_store|idea|vscode|claude|cursor|roo|zed|windsurf|codex|"
        r"opencode|plandex|fabric|aider|continue|terraform|vagrant|config|cline|gemini|copilot|"
        r"amazonq|kiro|trae|augment|junie|tabnine|codeium|goose|qodo|devin|mcp|sourcegraph|"
        r"aiexclude|cody)[\w.-]*(?:$|/)|"
        # instructions and tool settings of AI coding assistants, which often carry tokens
        r"(?:^|/)(?:claude|agents?|gemini|qwen|copilot-instructions)\.md$|(?:^|/)mcp\.json$|"
        r"(?:^|/)\.(?:xauthority|iceauthority|login|logout|cshrc|nsconfig|rnd|wget-hsts|boto|"
        r"my\.cnf|htdigest)$|"
        # state and credentials that deployment tools and frameworks keep beside the code
        r"(?:^|/)(?:terraform\.tfstate(?:\.backup)?|sftp-config\.json)$|"
        r"(?:^|/)config/(?:master\.key|credentials(?:/\w+)?\.yml\.enc|secrets\.yml)$|"
        r"/sys/(?:class|kernel|devices|firmware|power|module|block|bus)\b|"
        r"(?:^|/)(?:debug|error|errors|access)\.log$|"
        r"\bsecrets/|\bid_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?$|"
        # shell and tool state in a home directory: .python_history, .npmrc, .git-credentials
        r"(?:^|/)\.[\w-]*(?:_history|hst|rc|cfg|credentials|passwd|secrets?|tokens?)$",
    ),
    medium(
        "hidden-directory",
        "lfi",
        "Path into a hidden directory (tool configuration, VCS data, secrets)",
        rf"(?:^|[/\\])\.{_hidden_dir_except('well-known')}[/\\]+[\w.-]",
    ),
    medium(
        "hidden-file",
        "lfi",
        "Path ending in a hidden file (tool settings, CI definitions, environment files)",
        # an API serves no dotfiles; a path that ends in one is a probe for a file left in the
        # web root. The name starts with a letter: `/..` and `/.5` are not names.
        rf"/\.(?:[a-vx-z_][\w.-]*|w{_hidden_dir_except('ell-known')})$",
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
        # `include($page . ".php")` with page=http://evil/shell.txt? makes ".php" a query string
        r"(?:^\s*|=)(?:https?|ftps?|smb|data|dav|file):(?:/|\\|%2f|%5c){2,3}[^\n]*"
        r"(?:\?+$|#$|%00|\?[^\n=]*$)|^\s*//[^\s/]+/[^\n]*\?+$",
    ),
    high(
        "ip-script",
        "rfi",
        "URL to a bare IP address fetching a script or text file",
        r"(?:https?|ftps?)://(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[0-9a-f:.]+\])(?::\d+)?/[^\n]*\."
        r"(?:php\d?|phtml|txt|sh|pl|py|jsp|aspx?|cgi|inc|ps1|bat|vbs|hta|exe)\b|"
        r"(?:https?|ftps?)://(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[0-9a-f:.]+\])(?::\d+)?/[^\n]*\."
        r"(?:gif|jpe?g|png)\?",
    ),
    medium(
        "ip-url",
        "rfi",
        "URL to a bare IP address for a file share, or to a bare IP with nothing after it",
        r"\b(?:ftps?|smb|webdav|file):(?:/|\\){2}\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b|"
        r"\bhttps?:(?:/|\\){2}(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[0-9a-f:.]+\])(?::\d+)?/?"
        r"(?:$|\?)|"
        r"^\s*\\\\\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\\",
    ),
    medium(
        "include-param",
        "rfi",
        "Remote URL to a script kept as text (.txt, .inc...), or a parameter known for inclusion",
        r"^(?:https?|ftps?)://[^\n?#]*\.(?:txt|inc|sh|pl|py)(?:\?[^\n=]*)?$|"
        # a web server never runs a script it would have to fetch over FTP: only include() does
        r"^ftps?://[^\n?#]*\.(?:php\d?|phtml|asp|aspx|jsp|cgi)(?:\?[^\n=]*)?$|"
        # parameters of applications with published remote-inclusion bugs, which scanners probe
        r"^(?:mosconfig_absolute_path|_conf\[path\]|_server\[document_root\]|gallery_basedir|"
        r"path\[docroot\]|appserv_root|config\[root_dir\])$",
    ),
    high(
        "include-call",
        "rfi",
        "PHP include or require of a remote URL or stream wrapper",
        r"\b(?:include|require)(?:_once)?\s*\(?\s*['\"]?\s*"
        r"(?:https?|ftps?|data|php|expect|zip|phar|file|smb)://",
    ),
    medium(
        "unc-share",
        "rfi",
        "Windows UNC path to a share on another host",
        # PHP and .NET open \\host\share\file as a local path, fetching it over SMB or WebDAV
        r"^\s*\\\\[\w.-]+(?:@ssl)?(?:@\d+)?\\[\w$.-]+",
    ),
)
