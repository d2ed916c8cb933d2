"""Finished exchanges posted to an `apishield serve` (`analysis.mode: remote`), whose engine
analyses them, so the process in front of the API keeps only the request phase.

The guard's background thread hands over what it drained, as it does to `StreamOffload`, and
this class has the same interface so the guard treats both alike. Each exchange becomes one line
of apishield JSONL (bodies cut at `ingest.max_body_bytes`, their real size kept) and each
`analysis.batch` of them one `POST /api/v1/ingest` (docs/api.md) on a pooled connection, gzipped
when large. Requests never wait for any of it.

What the server answers decides what happens to a batch:

* 202: delivered.
* 503 (its analysis queue is full): the batch is kept and sent again, first, once Retry-After
  has passed. At most `backlog` batches are kept; beyond that new ones go back to the guard.
* 413: the batch is halved and each half sent; the size refused is remembered, so later batches
  that large are split before sending. A single exchange refused goes back to the guard.
* 401 or 403: this guard's token is not the server's, a configuration error, logged as an ERROR
  once, counted, and handled as an outage; the token file is read again at every probe, so
  fixing it needs no restart.
* No answer (refused connection, timeout) or another 5xx: an outage, logged once. Exchanges go
  back to the guard, which analyses them itself (`analysis.on_unavailable: local`) or drops
  them, counted; at most one batch every `probe_seconds` tries the server again.

Delivery is at most once, except that a batch whose answer timed out may have been taken by the
server and is then also analysed locally.
"""

from __future__ import annotations

import gzip
import ipaddress
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from apishield import __version__
from apishield.config import Config, ConfigError
from apishield.exchange import Exchange
from apishield.ingest.jsonl import exchange_to_jsonl
from apishield.inline.offload import capped, encoded
from apishield.retry_after import retry_after
from apishield.store.keys import TOKEN_FILE, read_token

log = logging.getLogger("apishield.inline")

INGEST_PATH = "/api/v1/ingest"
BACKLOG = 4
"""Batches kept while the server asks to wait (503)."""
GZIP_OVER = 32 << 10
"""Bodies from this many bytes are gzipped: JSONL shrinks about tenfold for a little CPU."""
TIMEOUT = 5.0
CONNECT_TIMEOUT = 1.0
MIN_RETRY_AFTER = 0.1
"""A server that asks for no wait at all still gets this much, so a busy one is not hammered."""
MAX_RETRY_AFTER = 60.0


@dataclass(slots=True)
class _Batch:
    exchanges: list[Exchange]
    lines: list[bytes]

    @property
    def size(self) -> int:
        return sum(map(len, self.lines))

    def halves(self) -> tuple[_Batch, _Batch]:
        middle = len(self.lines) // 2
        return (
            _Batch(self.exchanges[:middle], self.lines[:middle]),
            _Batch(self.exchanges[middle:], self.lines[middle:]),
        )


class RemoteOffload:
    """Posts exchanges to an `apishield serve` in batches; see the module docstring."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        max_body_bytes: int = 1_048_576,
        batch: int = 256,
        local: bool = True,
        probe_seconds: float = 5.0,
        backlog: int = BACKLOG,
        gzip_over: int = GZIP_OVER,
        timeout: float = TIMEOUT,
        token_file: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`url` is the server's base URL; `local`: exchanges the server did not take are
        analysed by the caller (else dropped and counted); `token_file` is read again when the
        server refuses `token`; `clock` only paces probes and Retry-After."""
        self.url = url.rstrip("/")
        self.max_body_bytes = max_body_bytes
        self.batch = batch
        self.local = local
        self.probe_seconds = probe_seconds
        self.backlog = backlog
        self.gzip_over = gzip_over
        self.sent = 0
        self.batches = 0
        self.unsent = 0
        """Exchanges handed back (analysed locally or dropped)."""
        self.outages = 0
        self.last_error = ""
        self.retries = 0
        """503 answers: batches kept to send again."""
        self.splits = 0
        self.too_large = 0
        """Exchanges refused with 413 on their own, handed back."""
        self.rejected = 0
        """Exchanges in batches refused with another 4xx, handed back."""
        self.unauthorized = 0
        self.server_skipped = 0
        """Lines the server answered it could not read (a bug on one side)."""
        self.lost = 0
        """Exchanges `close` could not deliver (no one analyses them)."""
        self._token_file = token_file
        self._clock = clock
        self._pending: deque[_Batch] = deque()
        self._retry_at = -math.inf
        self._refused_size = math.inf
        self._away_until: float | None = None
        self._stale_token = False
        self._closed = False
        self._unsent_before = 0
        self._said: set[str] = set()
        self._lock = threading.Lock()
        self._client = httpx.Client(
            headers={
                "authorization": f"Bearer {token}",
                "content-type": "application/x-ndjson",
                "user-agent": f"apishield-guard/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            trust_env=False,  # the bearer token goes to the server named, not to a proxy
        )

    @classmethod
    def from_config(cls, config: Config) -> RemoteOffload:
        """Raises ConfigError for a server_url that is not http(s) or a token file that cannot
        be read; warns when raw traffic would cross the network unencrypted."""
        analysis = config.analysis
        url = _checked_url(analysis.server_url)
        token_file = analysis.token_file or config.data_dir / TOKEN_FILE
        return cls(
            url,
            read_token(token_file),
            max_body_bytes=config.ingest.max_body_bytes,
            batch=analysis.batch,
            local=analysis.on_unavailable == "local",
            probe_seconds=config.state.probe_seconds,
            token_file=token_file,
        )

    @property
    def token_file(self) -> Path | None:
        """Where the server's token is read from (again after a refusal)."""
        return self._token_file

    @property
    def degraded(self) -> bool:
        """True while the server is away (or refuses the token) and exchanges are analysed
        locally or dropped."""
        return self._away_until is not None

    def send(self, exchanges: Sequence[Exchange]) -> list[Exchange]:
        """Post `exchanges`, kept batches first; those handed back to the caller."""
        with self._lock:
            away_until = self._away_until
            if self._closed or (away_until is not None and self._clock() < away_until):
                unsent = list(exchanges)
            else:
                unsent = self._keep(exchanges)
                unsent.extend(self._flush())
            self.unsent += len(unsent)
            return unsent

    def encode(self, exchange: Exchange) -> bytes:
        """One JSONL line, bodies cut at `max_body_bytes` with their real size kept."""
        return exchange_to_jsonl(capped(exchange, self.max_body_bytes))

    def stats(self) -> dict[str, object]:
        return {
            "server": self.url,
            "degraded": self.degraded,
            "busy": self._clock() < self._retry_at,
            "sent": self.sent,
            "batches": self.batches,
            "unsent": self.unsent,
            "unsent_action": "analysed locally" if self.local else "dropped",
            "kept": sum(len(batch.exchanges) for batch in tuple(self._pending)),
            "outages": self.outages,
            "last_error": self.last_error,
            "retries": self.retries,
            "splits": self.splits,
            "too_large": self.too_large,
            "rejected": self.rejected,
            "unauthorized": self.unauthorized,
            "server_skipped": self.server_skipped,
            "lost": self.lost,
        }

    def flush(self, timeout: float = 5.0) -> list[Exchange]:
        """Deliver the kept batches now, waiting out Retry-After up to `timeout` seconds; those
        handed back (the server away, or refusing them). What is still kept stays kept."""
        deadline = time.monotonic() + timeout
        unsent: list[Exchange] = []
        with self._lock:
            while self._pending and not self.degraded and time.monotonic() < deadline:
                wait = self._retry_at - self._clock()
                if wait > 0:
                    time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
                    self._retry_at = -math.inf
                unsent.extend(self._flush())
            if self.degraded:
                unsent.extend(e for kept in self._pending for e in kept.exchanges)
                self._pending.clear()
        return unsent

    def close(self, timeout: float = 5.0) -> None:
        """`flush`, then let go of the connection; what was not delivered is counted in
        `lost`. Exchanges sent after this are all handed back."""
        if self._closed:
            return
        self.lost += len(self.flush(timeout))
        with self._lock:
            self._closed = True
            self.lost += sum(len(batch.exchanges) for batch in self._pending)
            self._pending.clear()
            if self.lost:
                log.warning(
                    "%d exchanges could not be delivered to %s before closing", self.lost, self.url
                )
            self._client.close()

    # -- delivery ---------------------------------------------------------------------------

    def _keep(self, exchanges: Sequence[Exchange]) -> list[Exchange]:
        """Queue `exchanges` in batches behind those kept; those the backlog has no room for."""
        unsent: list[Exchange] = []
        for start in range(0, len(exchanges), self.batch):
            chunk = list(exchanges[start : start + self.batch])
            if len(self._pending) >= self.backlog:
                unsent.extend(chunk)
            else:
                self._pending.append(_Batch(chunk, encoded(self.encode, chunk)))
        return unsent

    def _flush(self) -> list[Exchange]:
        """Post kept batches, oldest first, until done or told to wait; those handed back."""
        unsent: list[Exchange] = []
        while self._pending and self._clock() >= self._retry_at:
            batch = self._pending[0]
            if len(batch.lines) > 1 and batch.size >= self._refused_size:
                self._split()
                continue
            response = self._post(batch)
            status = response.status_code if response is not None else 0
            if response is not None and 200 <= status < 300:
                self._pending.popleft()
                self._delivered(batch, response)
            elif status == 503:
                self._busy(response)
                break
            elif status == 413:
                self._refused_size = min(self._refused_size, batch.size)
                if len(batch.lines) > 1:
                    self._split()
                else:
                    unsent.extend(self._pending.popleft().exchanges)
                    self.too_large += 1
                    self._say(
                        "413",
                        "the apishield server refused one exchange as too large (413); raise "
                        "its serve.max_batch_bytes or lower ingest.max_body_bytes here",
                    )
            elif 400 <= status < 500 and status not in (401, 403):
                unsent.extend(self._pending.popleft().exchanges)
                self.rejected += len(batch.exchanges)
                self._say("4xx", f"the server refused a batch with {status}: {_detail(response)}")
            else:  # no answer, 5xx, 3xx or a token refused: nothing more goes until a probe
                unsent.extend(e for kept in self._pending for e in kept.exchanges)
                self._pending.clear()
        return unsent

    def _post(self, batch: _Batch) -> httpx.Response | None:
        """One request; None (the server counted as away) when there was no answer."""
        if self._stale_token:
            self._reload_token()
        body = b"".join(batch.lines)
        headers = {}
        if len(body) >= self.gzip_over:
            body = gzip.compress(body, compresslevel=1)
            headers["content-encoding"] = "gzip"
        try:
            response = self._client.post(self.url + INGEST_PATH, content=body, headers=headers)
        except httpx.TransportError as error:
            self._lost(f"cannot reach the apishield server at {self.url}: {_reason(error)}")
            return None
        status = response.status_code
        if status in (401, 403):
            self._refused_token(status)
        elif not (200 <= status < 300 or 400 <= status < 500 or status == 503):
            self._lost(f"the apishield server at {self.url} answered {status}; check its log")
        return response

    def _split(self) -> None:
        first, second = self._pending.popleft().halves()
        self._pending.extendleft((second, first))
        self.splits += 1

    def _delivered(self, batch: _Batch, response: httpx.Response) -> None:
        if self._away_until is not None:
            self._back()
        self.sent += len(batch.exchanges)
        self.batches += 1
        try:
            answer = response.json()
        except ValueError:
            return
        if not isinstance(answer, dict):
            return
        skipped, errors = answer.get("skipped"), answer.get("errors")
        if type(skipped) is int and skipped > 0:
            self.server_skipped += skipped
            example = errors[0] if isinstance(errors, list) and errors else "?"
            self._say("skipped", f"the server could not read {skipped} lines, e.g. {example}")

    def _busy(self, response: httpx.Response | None) -> None:
        wait = _retry_after(response.headers.get("retry-after") if response else None)
        self._retry_at = self._clock() + wait
        self.retries += 1
        self._say(
            "503",
            f"the apishield server at {self.url} is busy (503); batches are kept (up to "
            f"{self.backlog}) and sent again after its Retry-After, the rest analysed "
            f"{'here' if self.local else 'nowhere (dropped)'}",
        )

    def _refused_token(self, status: int) -> None:
        self.unauthorized += 1
        self._stale_token = self._token_file is not None
        where = self._token_file or "the token given"
        message = (
            f"the apishield server at {self.url} refused this guard's token from {where} "
            f"({status}); set analysis.token_file to the server's serve.token_file or copy that "
            "file here. It is read again at every probe"
        )
        if "401" not in self._said:
            self._said.add("401")
            log.error("%s (logged once)", message)
        self._lost(message, quiet=True)

    def _reload_token(self) -> None:
        self._stale_token = False
        if self._token_file is None:
            return
        try:
            token = read_token(self._token_file)
        except ConfigError:
            return
        self._client.headers["authorization"] = f"Bearer {token}"

    def _lost(self, reason: str, *, quiet: bool = False) -> None:
        self.last_error = reason
        first = self._away_until is None
        self._away_until = self._clock() + self.probe_seconds
        if not first:
            return
        self.outages += 1
        self._unsent_before = self.unsent
        if not quiet:
            action = "analysed in this process" if self.local else "dropped"
            log.warning(
                "%s; exchanges are %s until it returns (trying again every %gs)",
                reason,
                action,
                self.probe_seconds,
            )

    def _back(self) -> None:
        self._away_until = None
        log.warning(
            "the apishield server at %s is back; %d exchanges were not sent meanwhile",
            self.url,
            self.unsent - self._unsent_before,
        )

    def _say(self, key: str, message: str) -> None:
        """Log a WARNING the first time per kind of trouble; the counters tell the rest."""
        if key not in self._said:
            self._said.add(key)
            log.warning("%s (logged once)", message)


def _checked_url(url: str) -> str:
    """`analysis.server_url` if it is an http(s) URL; warns when it is plain http beyond this
    machine, since exchanges carry raw headers and bodies."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = httpx.URL("")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(
            f"analysis.server_url {url!r} is not an http(s) URL; write the address of "
            "`apishield serve`, e.g. http://127.0.0.1:8750"
        )
    if parsed.scheme == "http" and not _loopback(parsed.host):
        log.warning(
            "analysis.server_url %s is plain http to another machine: raw requests and answers "
            "(headers, bodies) cross the network unencrypted; use https://",
            url,
        )
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _retry_after(value: str | None) -> float:
    """Seconds to wait: what Retry-After asks, within MIN_ and MAX_RETRY_AFTER; 1 s without one."""
    seconds = retry_after(value)
    return min(max(1.0 if seconds is None else seconds, MIN_RETRY_AFTER), MAX_RETRY_AFTER)


def _reason(error: httpx.TransportError) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _detail(response: httpx.Response | None) -> str:
    if response is None:
        return ""
    try:
        answer = response.json()
    except ValueError:
        return response.text[:200]
    return str(answer.get("detail", answer))[:200] if isinstance(answer, dict) else ""
