"""The command vocabulary of the shell signatures, and the spellings a shell accepts for a name.

A command name is only evidence when it is shaped like one. Names are kept as data, in three
lists by how much context they need before they count, and turned into patterns here:

* `PROGRAMS`: names that are not everyday words (`wget`, `whoami`, `certutil`). Seen right after
  a shell separator, they are enough.
* `WORDS`: commands that are also words or common abbreviations (`sort`, `time`, `find`). After a
  separator they also need something shaped like an argument.
* `PROBES`: the programs attackers run to see where they landed (`whoami`, `uname`, `ifconfig`).
  A value that is only one of them, or starts with one and an argument, is a probe.

The shell removes quotes, backslashes, backslash-newlines and empty expansions (`$@`) before it
looks a name up, so `w'h'o"am"i`, `c\\at` and `wh$@oami` all run the same program: `spelled`
allows those between the letters of every name of three letters or more (shorter names would
turn "I'd" into `id`).
"""

from __future__ import annotations

PROGRAMS = (
    # identity, host and network discovery
    "id", "ps", "pwd", "env", "printenv", "uname", "whoami", "hostname", "hostid", "logname",
    "ifconfig", "ipconfig", "netstat", "ss", "lsof", "arp", "nslookup", "dig", "whois",
    "traceroute", "traceroute6", "tcptraceroute", "tcpdump", "tshark", "nmap", "nping", "fping",
    "hping3", "ping", "ping6", "getent", "lastlog", "lastcomm", "uptime", "dmesg", "journalctl",
    "sysctl", "lscpu", "lspci", "lsusb", "lshw", "lsmod", "lsblk", "dmidecode", "lsb_release",
    "neofetch", "systemctl", "loginctl", "timedatectl", "hostnamectl", "busctl", "ls",
    # fetching, connecting and tunnelling
    "wget", "curl", "lwp-download", "lwp-request", "lwp-mirror", "lwp-dump", "aria2c", "lftp",
    "nc", "ncat", "netcat", "nc.openbsd", "nc.traditional", "socat", "telnet", "ssh", "scp",
    "sftp", "ftp", "tftp", "rsync", "sshpass", "smbclient", "rlogin", "w3m", "openssl",
    # shells and interpreters
    "sh", "bash", "zsh", "ksh", "csh", "tcsh", "dash", "ash", "busybox", "python", "python2",
    "python3", "perl", "perl5", "ruby", "irb", "php", "php5", "php7", "lua", "node", "nodejs",
    "tclsh", "jrunscript", "jjs", "ghci", "rlwrap", "xterm", "pwsh", "powershell", "cmd",
    # reading, encoding and searching files
    "cat", "tac", "nl", "xxd", "hexdump", "od", "strings", "base32", "base64", "basenc",
    "uuencode", "uudecode", "iconv", "awk", "gawk", "mawk", "nawk", "sed", "grep", "egrep",
    "fgrep", "zgrep", "zcat", "bzcat", "xzcat", "gzcat", "zless", "zmore", "readelf", "xargs",
    "exiftool", "getfacl", "setfacl", "lsattr", "chattr",
    # changing files, users and the system
    "chmod", "chown", "chgrp", "rm", "mv", "cp", "ln", "mkdir", "rmdir", "mkfifo", "mknod", "dd",
    "crontab", "useradd", "usermod", "userdel", "adduser", "passwd", "sudo", "su", "doas",
    "pkexec", "visudo", "vipw", "vigr", "nohup", "setsid", "stdbuf", "taskset", "ionice",
    "nsenter", "cpulimit", "iptables", "ip6tables", "ldconfig", "modprobe", "insmod", "killall",
    "pkill", "pgrep", "reboot", "halt", "umount", "mount", "run-parts", "start-stop-daemon",
    "sendmail", "mailx", "ldd", "strace", "ltrace", "gdb", "valgrind", "htop", "tmux",
    # archives, compilers and package managers
    "tar", "zip", "unzip", "gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "7z",
    "7za", "cpio", "bsdtar", "gcc", "cc", "c89", "c99", "g++", "apt", "apt-get", "aptitude",
    "yum", "dnf", "dpkg", "rpm", "zypper", "pacman", "opkg", "pip", "pip3", "npm", "docker",
    "kubectl", "hexedit", "vim", "nano", "emacs", "finger", "rmt", "cscli",
    # Windows
    "regedit", "bcdedit", "bcdboot", "diskpart", "vssadmin", "wevtutil", "icacls", "takeown",
    "attrib", "cacls", "msiexec", "bitsadmin", "certutil", "schtasks", "net1", "wmic",
    "systeminfo", "tasklist", "taskkill", "netsh", "mshta", "rundll32", "regsvr32", "cscript",
    "wscript", "forfiles", "findstr", "xcopy", "robocopy", "nltest", "dsquery", "qwinsta",
    "whoami.exe",
    # binaries known to run commands or read files for an attacker (GTFOBins)
    "agetty", "ascii-xfr", "ascii85", "aspell", "atobm", "bpftrace", "bsdcat", "bsdiff",
    "byebug", "coproc", "cowsay", "cowthink", "cpan", "csplit", "csvtool", "cupsfilter",
    "dhclient", "dmsetup", "dosbox", "dvips", "easy_install", "env-update", "ftpstats", "ftpwho",
    "gcore", "genisoimage", "ginsh", "gtester", "gzexe", "htdigest", "htpasswd", "iftop",
    "ispell", "jexec", "ksshell", "lastlogin", "lessecho", "lessfile", "lesspipe", "lftpget",
    "logsave", "lualatex", "luatex", "lzma", "mailq", "mlocate", "netkit-ftp", "nroff", "nstat",
    "openvt", "pdflatex", "pdftex", "perlsh", "pftp", "pidstat", "pigz", "pkg_info", "pkginfo",
    "psftp", "rmuser", "rnano", "run-mailcap", "rview", "rvim", "sdiff", "setarch", "slsh",
    "soelim", "systemd-resolve", "tailf", "tcping", "troff", "unexpand", "unlz4", "unlzma",
    "unpigz", "unrar", "unzstd", "update-alternatives", "vimdiff", "virsh", "xelatex", "xetex",
    "xmodmap", "xmore", "xpad", "xzdec", "zathura", "zipdetails", "zrun", "zsoelim",
)  # fmt: skip
"""Commands whose name is not an everyday word: seeing one after a separator is enough."""

PROGRAM_FAMILIES = (
    r"ansible(?:-[a-z]+)?|chef-[a-z]+|lwp-[a-z]+|check_[a-z_]+|ssh-(?:key(?:gen|scan)|copy-id|add)|"
    r"(?:bz|lz|xz|z)(?:cat|cmp|diff|e?grep|fgrep|less|more)|ptar(?:diff|grep)?|"
    r"msg(?:attrib|cat|conv|filter|merge|uniq)|mysql(?:admin|dump|dumpslow|hotcopy|show)|"
    r"rpm(?:db|query|verify)"
)
"""Tool suites whose members share a prefix (`ansible-vault`, `chef-shell`)."""

WORDS = (
    "time", "more", "less", "head", "tail", "find", "sort", "uniq", "cut", "tr", "file", "stat",
    "which", "whereis", "locate", "kill", "sleep", "touch", "echo", "printf", "set", "unset",
    "export", "exec", "eval", "source", "history", "alias", "host", "type", "copy", "del", "dir",
    "start", "ver", "call", "goto", "exit", "shutdown", "timeout", "watch", "nice", "expr",
    "test", "read", "wait", "trap", "shift", "cd", "md", "where", "tree", "print", "mail", "at",
    "sc", "last", "who", "w", "top", "ed", "vi", "column", "comm", "groups", "screen", "rev",
    "net", "reg", "base", "tee", "wc", "df", "du", "ip", "git", "jq", "builtin", "shuf",
    "realpath",
)  # fmt: skip
"""Commands that are also words: they need an argument-shaped follower."""

PROBES = (
    "whoami", "uname", "ifconfig", "ipconfig", "netstat", "nslookup", "printenv", "lsof", "ncat",
    "netcat", "socat", "busybox", "chmod", "chown", "crontab", "useradd", "usermod", "userdel",
    "visudo", "mkfifo", "systemctl", "iptables", "tcpdump", "nmap", "traceroute", "getent",
    "dmesg", "journalctl", "sysctl", "lastlog", "strace", "ltrace", "xxd", "hexdump", "systeminfo",
    "tasklist", "taskkill", "netsh", "wmic", "certutil", "bitsadmin", "schtasks", "vssadmin",
    "bcdedit", "icacls", "mshta", "rundll32", "regsvr32", "nltest", "qwinsta", "sshpass",
    "smbclient", "pkexec", "lscpu", "lspci", "lsmod", "dmidecode", "lsb_release", "gunzip",
    "cscli",
)  # fmt: skip
"""What an attacker runs first to see where a command landed."""

_GAP = r"[\\'\"\n$@!*?(){}<>]*"
"""What the shell removes from inside a word: quotes, backslashes, backslash-newline, and
expansions that are empty (`$@`, `$!`, `$()`, `<()`, `${}`)."""


def spelled(name: str) -> str:
    """`name` as a pattern that also matches it with quotes, backslashes or `$@` inside."""
    chars = [_char(c) for c in name]
    if len(name) < 3:
        return "".join(chars)
    return _GAP.join(chars)


def _char(c: str) -> str:
    return "\\" + c if c in ".+-" else c


def alternation(names: tuple[str, ...], *extra: str) -> str:
    """One group matching any of `names`, longest first."""
    ordered = sorted(names, key=len, reverse=True)
    return "(?:" + "|".join([*(_char_run(n) for n in ordered), *extra]) + ")"


def spelled_alternation(names: tuple[str, ...], *extra: str) -> str:
    """One group matching any of `names` in any spelling the shell accepts."""
    ordered = sorted(names, key=len, reverse=True)
    return "(?:" + "|".join([*(spelled(n) for n in ordered), *extra]) + ")"


def _char_run(name: str) -> str:
    return "".join(_char(c) for c in name)
