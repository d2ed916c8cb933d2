"""ModSecurity v3 with the OWASP Core Rule Set, in a private nginx on 127.0.0.1, as a comparator.

Debian's packages (nginx, libnginx-mod-http-modsecurity, modsecurity-crs) are used as installed,
but nothing of the system's nginx setup is touched: every file nginx and ModSecurity write (pid,
logs, temp bodies, the generated configuration) lives in a temporary folder that is removed with
the server. The ModSecurity server proxies to a second server block on another loopback port,
because a `return` in the protected location would answer before ModSecurity reads the request
body; a request counts as blocked when it is answered 403. Requests go out as raw bytes, so each
record arrives as its test wrote it (no client-added User-Agent; odd methods and versions kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

MODULE = Path("/usr/lib/nginx/modules/ngx_http_modsecurity_module.so")
CRS_RULES = Path("/usr/share/modsecurity-crs/rules")
CRS_SETUPS = (
    Path("/usr/share/modsecurity-crs/crs-setup.conf.example"),
    Path("/etc/modsecurity/crs/crs-setup.conf"),
)
MODSEC_CONFS = (
    Path("/etc/modsecurity/modsecurity.conf-recommended"),
    Path("/etc/nginx/modsecurity.conf"),
    Path("/usr/share/nginx/docs/modsecurity/modsecurity.conf"),
)
PACKAGES = "nginx libnginx-mod-http-modsecurity modsecurity-crs"
TIMEOUT = 10.0
CONCURRENCY = 24


@dataclass(frozen=True, slots=True)
class Installation:
    nginx: Path
    modsecurity_conf: Path
    crs_setup: Path

    def versions(self) -> dict[str, str]:
        """Package versions for the results file, so figures can be matched to a CRS release."""
        out = {}
        for package in ("nginx", "libmodsecurity3", "modsecurity-crs"):
            query = ["dpkg-query", "-W", "-f", "${Version}", package]
            done = subprocess.run(query, capture_output=True, text=True, check=False)
            out[package] = done.stdout.strip() or "unknown"
        return out


def find_installation() -> Installation | str:
    """The installed pieces, or a sentence saying what is missing and how to install it."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    setup = next((p for p in CRS_SETUPS if p.exists()), None)
    conf = next((p for p in MODSEC_CONFS if p.exists()), None)
    missing = [
        name
        for name, ok in (
            (nginx, Path(nginx).exists()),
            (str(MODULE), MODULE.exists()),
            (str(CRS_RULES), CRS_RULES.is_dir()),
            ("crs-setup.conf", setup is not None),
            ("modsecurity.conf(-recommended)", conf is not None),
        )
        if not ok
    ]
    if missing or setup is None or conf is None:
        return (
            f"missing {', '.join(missing)}: run `make bench-detection` (apt-get install {PACKAGES})"
        )
    return Installation(Path(nginx), conf, setup)


def installed_rule_ids() -> set[int]:
    """Rule ids of the installed CRS: tests written for newer rules cannot be caught by older."""
    ids: set[int] = set()
    for path in CRS_RULES.glob("*.conf"):
        ids.update(
            int(found) for found in re.findall(r"id:'?(\d+)", path.read_text(errors="replace"))
        )
    return ids


def modsecurity_conf(source: Path, workdir: Path) -> str:
    """The packaged recommended settings, blocking instead of detecting, writing only to workdir."""
    text = source.read_text(encoding="utf-8")
    mapping = source.parent / "unicode.mapping"
    replacements = {
        "SecRuleEngine": "On",
        "SecAuditEngine": "Off",
        "SecAuditLog": str(workdir / "audit.log"),
        "SecTmpDir": str(workdir),
        "SecDataDir": str(workdir),
        "SecResponseBodyAccess": "Off",
        "SecStatusEngine": "Off",
        "SecUnicodeMapFile": f"{mapping} 20127" if mapping.exists() else None,
    }
    for directive, value in replacements.items():
        line = "" if value is None else f"{directive} {value}"
        text, count = re.subn(rf"(?m)^\s*{directive}\s.*$", line, text)
        if not count and value is not None:
            text += f"\n{line}\n"
    return text


def main_conf(install: Installation, workdir: Path, paranoia: int) -> str:
    """ModSecurity's entry file: settings, CRS setup, the paranoia level, then every CRS rule."""
    return "\n".join(
        [
            f"Include {workdir / 'modsecurity.conf'}",
            f"Include {workdir / 'crs-setup.conf'}",
            f'SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level={paranoia}"',
            'SecAction "id:900001,phase:1,nolog,pass,t:none,'
            f'setvar:tx.executing_paranoia_level={paranoia}"',
            f"Include {CRS_RULES}/*.conf",
            "",
        ]
    )


def nginx_conf(workdir: Path, port: int, upstream: int) -> str:
    temps = "\n".join(
        f"    {kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
master_process on;
worker_processes 2;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} error;
load_module {MODULE};
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temps}
    client_max_body_size 16m;
    large_client_header_buffers 8 64k;
    ignore_invalid_headers off;
    underscores_in_headers on;
    server {{
        listen 127.0.0.1:{port};
        modsecurity on;
        modsecurity_rules_file {workdir / "main.conf"};
        location / {{ proxy_pass http://127.0.0.1:{upstream}; }}
    }}
    server {{
        listen 127.0.0.1:{upstream};
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ModSecurity:
    """A private nginx + ModSecurity + CRS at one paranoia level, for the span of a `with`."""

    def __init__(self, install: Installation, paranoia: int) -> None:
        self.install = install
        self.paranoia = paranoia
        self.port = free_port()
        self.upstream = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="apishield-modsec-"))
        self.workdir.chmod(0o755)  # nginx workers drop root and must still reach their temp paths
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ModSecurity:
        try:
            self._write_config()
            self._start()
            self._self_test()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _write_config(self) -> None:
        work = self.workdir
        (work / "modsecurity.conf").write_text(
            modsecurity_conf(self.install.modsecurity_conf, work)
        )
        shutil.copyfile(self.install.crs_setup, work / "crs-setup.conf")
        (work / "main.conf").write_text(main_conf(self.install, work, self.paranoia))
        (work / "nginx.conf").write_text(nginx_conf(work, self.port, self.upstream))

    def _start(self) -> None:
        command = [str(self.install.nginx), "-p", str(self.workdir), "-c", "nginx.conf"]
        command += ["-e", str(self.workdir / "error.log")]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited {self.process.returncode}: {self._log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"nginx did not listen on 127.0.0.1:{self.port}: {self._log_tail()}")

    def _log_tail(self) -> str:
        log = self.workdir / "error.log"
        stderr = b""
        if self.process is not None and self.process.stderr is not None and self.process.poll():
            stderr = self.process.stderr.read()
        text = log.read_text(errors="replace") if log.exists() else ""
        return (stderr.decode(errors="replace") + text)[-1500:]

    def _self_test(self) -> None:
        """Refuse to report figures from a harness that cannot see a block, or blocks everything."""
        base = "Host: localhost\r\nUser-Agent: OWASP CRS test agent\r\nAccept: */*\r\n"
        body = b"var=1234 OR 1=1"
        probes = {
            "benign GET": (b"GET /?q=hello HTTP/1.1\r\n" + base.encode() + b"\r\n", 200),
            "SQLi in a form body": (
                b"POST /post HTTP/1.1\r\n"
                + base.encode()
                + b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body,
                403,
            ),
            "SQLi in the query": (
                b"GET /?var=1234%20OR%201%3D1 HTTP/1.1\r\n" + base.encode() + b"\r\n",
                403,
            ),
        }
        for name, (wire, expected) in probes.items():
            got = asyncio.run(send(wire, self.port))
            if got != expected:
                raise RuntimeError(
                    f"ModSecurity self-test failed at PL{self.paranoia}: {name} gave {got}, "
                    f"expected {expected}; error log: {self._log_tail()}"
                )


async def send(wire: bytes, port: int, timeout: float = TIMEOUT) -> int | None:
    """The response status for one raw request, or None when no status line came back."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except (OSError, TimeoutError):
        return None
    try:
        writer.write(wire)
        # A request refused on its headers is answered and closed before the whole body is
        # read: the write fails, but the status line is already waiting to be read.
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(writer.drain(), timeout)
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


async def _replay(wires: Sequence[bytes], port: int, label: str) -> list[int | None]:
    gate = asyncio.Semaphore(CONCURRENCY)
    done = 0
    started = time.monotonic()

    async def one(wire: bytes) -> int | None:
        nonlocal done
        async with gate:
            status = await send(wire, port)
        done += 1
        if done % 2000 == 0 or done == len(wires):
            rate = done / max(time.monotonic() - started, 1e-9)
            print(f"  {label}: {done}/{len(wires)} sent, {rate:.0f}/s", file=sys.stderr, flush=True)
        return status

    return list(await asyncio.gather(*(one(wire) for wire in wires)))


def replay(server: ModSecurity, wires: Sequence[bytes]) -> list[int | None]:
    """Statuses in the order of `wires`, at most CONCURRENCY requests in flight."""
    return asyncio.run(_replay(wires, server.port, f"CRS PL{server.paranoia}"))
