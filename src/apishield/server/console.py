"""One `apishield serve` process: the API and dashboard over the store, and, when live, the
analysis behind them with its log followers, alerts and metrics.

Live (the default), the server analyses what guards post to /api/v1/ingest and what the
followed log files gain, and shows its own run. Given a run (`show_run`), it only reads: the
dashboard over a past `analyze`. Either way it manages the blocks of the state `state:` names
(shared with every guard on Redis; this process's own in memory).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from apishield.alert import Alerter
from apishield.api import ApiParts
from apishield.config import Config
from apishield.ingest.base import ParseOptions
from apishield.ingest.follow import LogFollower
from apishield.inline.server import Server, parse_listen
from apishield.inventory.spec import ApiSpec
from apishield.privacy import Hasher
from apishield.server.analysis import LiveAnalysis
from apishield.server.app import server_app
from apishield.server.blocklist import ManagedBlocks
from apishield.server.metrics import Metrics
from apishield.startup import build_engine
from apishield.state.factory import Backends, open_backends
from apishield.store.database import Store
from apishield.store.keys import TOKEN_FILE, api_token, install_secret
from apishield.store.views import Views

log = logging.getLogger("apishield.server")


class ConsoleServer:
    def __init__(
        self,
        config: Config,
        store: Store,
        spec: ApiSpec | None = None,
        *,
        listen: str | None = None,
        show_run: int | None = None,
        read_only: bool = False,
        follow: Sequence[Path] = (),
        fmt: str = "auto",
        from_start: bool = False,
        backends: Backends | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`read_only` shows `show_run` (the latest run when None) and analyses nothing."""
        self.config = config
        self.token = api_token(config.serve.token_file or config.data_dir / TOKEN_FILE)
        hasher = Hasher(install_secret(config.data_dir))
        self.backends = backends or open_backends(config)
        self.blocks = ManagedBlocks(
            self.backends.blocks,
            config,
            hasher,
            clock,
            shared=config.state.backend == "redis",
        )
        self.analysis: LiveAnalysis | None = None
        self.alerter: Alerter | None = None
        self.followers: list[LogFollower] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        if read_only:
            fixed = show_run
            parts = ApiParts(
                Views(store), self.token, lambda: fixed or store.latest_run_id(), blocks=self.blocks
            )
        else:
            parts = self._live(store, spec, follow, clock)
            options = ParseOptions("follow", config.ingest.max_body_bytes)
            self.followers = [
                LogFollower([path], fmt, options, from_start=from_start) for path in follow
            ]
        host, port = parse_listen(listen or config.serve.listen)
        self.http = Server(server_app(parts), host, port, grace=5.0)

    def _live(
        self,
        store: Store,
        spec: ApiSpec | None,
        follow: Sequence[Path],
        clock: Callable[[], float],
    ) -> ApiParts:
        """The analysis, alerts and metrics of a live server, and the API parts over them."""
        config = self.config
        self.alerter = Alerter.from_config(config.alerts)
        metrics = Metrics()
        metrics.watch_alerts(self.alerter.stats)
        analysis = self.analysis = LiveAnalysis(
            build_engine(config, spec, state=self.backends.state),
            store,
            sources=["ingest", *(str(p) for p in follow)],
            blocks=self.backends.blocks,
            blocking=config.enforce.auto_block,
            bots=config.enforce.bots,
            alerts=self.alerter,
            metrics=metrics,
            queue_size=config.serve.queue,
            save_seconds=config.serve.save_seconds,
            clock=clock,
        )
        run_id = analysis.run_id
        return ApiParts(
            Views(store),
            self.token,
            lambda: run_id,
            ingest=analysis,
            blocks=self.blocks,
            metrics=metrics.render,
            max_batch_bytes=config.serve.max_batch_bytes,
        )

    @property
    def url(self) -> str:
        return self.http.url

    @property
    def login_url(self) -> str:
        return f"{self.http.url}/login?token={self.token}"

    def start(self) -> None:
        self.http.start()
        self._start_followers()

    def serve_until_signal(self) -> int:
        self._start_followers()
        try:
            return self.http.serve_until_signal()
        finally:
            self.close()

    def close(self) -> None:
        """Stop following, analyse what is queued, write the last snapshot, stop alerting."""
        self.http.stop(10.0)
        self._stop.set()
        for thread in self._threads:
            thread.join(5.0)
        for follower in self.followers:
            follower.close()
        if self.analysis is not None:
            self.analysis.count_skipped(sum(f.stats.skipped for f in self.followers))
            self.analysis.close()
        if self.alerter is not None:
            self.alerter.close()
        self.backends.close()

    def _start_followers(self) -> None:
        analysis = self.analysis
        if analysis is None or self._threads:
            return
        for follower in self.followers:
            thread = threading.Thread(
                target=follower.run,
                args=(analysis.put, self._stop),
                name="apishield-follow",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
