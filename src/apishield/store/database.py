"""The store: SQLite by default, PostgreSQL (or anything SQLAlchemy speaks) by URL."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson
from sqlalchemy import create_engine, delete, insert, inspect, select, update
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)

from apishield.store.schema import (
    actors,
    endpoint_key,
    endpoint_minutes,
    endpoints,
    finding_rules,
    incident_endpoints,
    incidents,
    ingest_errors,
    metadata,
    named_endpoint_key,
    runs,
    spec_findings,
    threat_levels,
)

_EXAMPLES = "sqlite:///apishield.db or postgresql+psycopg://user@127.0.0.1:5432/apishield"
# How long a SQLite write waits for another writer's lock before it fails (the driver's own
# default is 5 s); a `?timeout=` in the URL wins.
SQLITE_BUSY_SECONDS = 15.0
# Tables made by processes starting together on an empty database: tries before giving up.
_CREATE_TRIES = 5

T = TypeVar("T")


class Point(Protocol):
    """One bucket of an endpoint's traffic (`apishield.inventory.series.Point`)."""

    @property
    def key(self) -> tuple[str, str, str]: ...
    @property
    def start(self) -> float: ...
    @property
    def seconds(self) -> float: ...
    @property
    def requests(self) -> int: ...
    @property
    def errors(self) -> int: ...
    @property
    def p95_ms(self) -> float | None: ...


class StoreError(Exception):
    """The database cannot be used; the message says which URL and what to change."""


class Store:
    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"{url!r} is not a database URL; use e.g. {_EXAMPLES}") from exc
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        try:
            # pre-ping: a pooled connection the server dropped (restart, failover, idle timeout)
            # is replaced before use; hide_parameters: errors name the statement, not its rows
            self.engine: Engine = create_engine(
                parsed,
                json_deserializer=orjson.loads,
                pool_pre_ping=True,
                hide_parameters=True,
                connect_args=_connect_args(parsed),
            )
        except NoSuchModuleError as exc:
            raise StoreError(
                f"no driver for {parsed.drivername!r}; use e.g. {_EXAMPLES} "
                "(PostgreSQL needs `pip install apishield[postgres]`)"
            ) from exc
        self.url = parsed.render_as_string(hide_password=True)

    def create(self) -> None:
        """Make the tables, or refuse an older layout before anything is made in it."""
        try:
            self._check_layout()
            self._create_tables()
        except DBAPIError as exc:
            raise StoreError(f"cannot open the store at {self.url}: {exc.orig}") from exc

    def _check_layout(self) -> None:
        found = inspect(self.engine)
        tables = set(found.get_table_names())
        missing = {
            table: column
            for table, column in (("endpoints", "key"), ("runs", "summary"))
            if table in tables and column not in {c["name"] for c in found.get_columns(table)}
        }
        if missing:
            raise StoreError(
                f"the store at {self.url} was written by an older apishield, without endpoint "
                "ids; give a new database (--db) or delete this one and analyse again"
            )

    def _create_tables(self) -> None:
        """Another process starting on the same empty database may make a table between our
        check and our CREATE; its table is as good as ours, so look again and go on."""
        for attempt in range(1, _CREATE_TRIES + 1):
            try:
                metadata.create_all(self.engine)
                for table in metadata.sorted_tables:  # indexes added since a table was made
                    for index in table.indexes:
                        index.create(self.engine, checkfirst=True)
                return
            except (IntegrityError, ProgrammingError, OperationalError) as exc:
                if not _made_meanwhile(exc):
                    raise
                if attempt == _CREATE_TRIES:
                    raise StoreError(
                        f"cannot create the tables of the store at {self.url}: other processes "
                        f"kept creating them ({exc.orig}); start apishield again"
                    ) from exc
                time.sleep(0.1 * attempt)

    def save_analysis(
        self,
        document: Mapping[str, Any],
        series: Sequence[Point] = (),
        *,
        retry_seconds: float = 0.0,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> int:
        """Write one analysis run in a single transaction: a crash leaves no half run behind.
        A locked database or a dropped connection is tried again, with backoff, for up to
        `retry_seconds`; `on_retry(reason, wait)` hears of each new try."""

        def write() -> int:
            with self.engine.begin() as conn:
                run_id: int = conn.execute(
                    insert(runs).returning(runs.c.id), _run_row(document)
                ).scalar_one()
                _save_contents(conn, run_id, document)
                _save_series(conn, run_id, series)
            return run_id

        return self._retrying(write, retry_seconds, on_retry)

    def _retrying(
        self,
        write: Callable[[], T],
        seconds: float,
        on_retry: Callable[[str, float], None] | None,
    ) -> T:
        deadline = time.monotonic() + seconds
        delay = 0.5
        while True:
            try:
                return write()
            except DBAPIError as exc:
                wait = min(delay, deadline - time.monotonic())
                if not _transient(exc) or wait <= 0:
                    raise self._write_error(exc) from exc
                if on_retry is not None:
                    on_retry(_reason(exc), wait)
                time.sleep(wait)
                delay = min(delay * 2, 8.0)
            except SQLAlchemyError as exc:
                raise self._write_error(exc) from exc

    def _write_error(self, exc: SQLAlchemyError) -> StoreError:
        return StoreError(f"cannot write to the store at {self.url}: {_reason(exc)}")

    def replace_run(
        self, run_id: int, document: Mapping[str, Any], series: Sequence[Point] = ()
    ) -> None:
        """Overwrite a live run with a newer snapshot of the same analysis, in one transaction;
        traffic buckets are only added (each is handed over once)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(update(runs).where(runs.c.id == run_id).values(_run_row(document)))
                for table in (endpoints, ingest_errors, finding_rules, threat_levels, incidents):
                    conn.execute(delete(table).where(table.c.run_id == run_id))
                for table in (actors, incident_endpoints, spec_findings):
                    conn.execute(delete(table).where(table.c.run_id == run_id))
                _save_contents(conn, run_id, document)
                _save_series(conn, run_id, series)
        except SQLAlchemyError as exc:
            raise self._write_error(exc) from exc

    def load_findings(self, run_id: int) -> dict[str, Any]:
        """The findings section of one run, in the analysis document's shape."""
        with self.engine.connect() as conn:
            levels = conn.execute(
                select(threat_levels.c.level, threat_levels.c.requests).where(
                    threat_levels.c.run_id == run_id
                )
            ).all()
            rules = conn.execute(
                select(finding_rules)
                .where(finding_rules.c.run_id == run_id)
                .order_by(finding_rules.c.id)
            ).mappings()
            return {
                "threat_levels": {level: n for level, n in levels},
                "rules": [
                    {key: value for key, value in row.items() if key not in ("id", "run_id")}
                    for row in rules
                ],
            }

    def load_incidents(self, run_id: int) -> list[dict[str, Any]]:
        """The incidents of one run, most severe first, in the document's shape."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(incidents.c.detail)
                .where(incidents.c.run_id == run_id)
                .order_by(incidents.c.id)
            ).scalars()
            return [dict(detail) for detail in rows]

    def latest_run_id(self) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(runs.c.id).order_by(runs.c.id.desc()).limit(1)
            ).scalar_one_or_none()

    def load_endpoints(self, run_id: int) -> list[dict[str, Any]]:
        """Endpoints of one run in the same shape the analysis document gives them."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(endpoints).where(endpoints.c.run_id == run_id).order_by(endpoints.c.id)
            ).mappings()
            return [
                {
                    **row["summary"],
                    "state": row["state"],
                    "deprecated": row["deprecated"],
                    "operation_id": row["operation_id"],
                    "risk": {"score": row["risk_score"], "factors": row["risk_factors"]},
                }
                for row in rows
            ]

    def load_errors(self, run_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ingest_errors.c.source, ingest_errors.c.line, ingest_errors.c.reason)
                .where(ingest_errors.c.run_id == run_id)
                .order_by(ingest_errors.c.id)
            ).mappings()
            return [dict(row) for row in rows]


def _connect_args(url: URL) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite" and "timeout" not in url.query:
        return {"timeout": SQLITE_BUSY_SECONDS}
    return {}


def _transient(exc: DBAPIError) -> bool:
    """A lock held by another writer, or a connection the server dropped: worth a new try."""
    return isinstance(exc, OperationalError) or exc.connection_invalidated


def _made_meanwhile(exc: DBAPIError) -> bool:
    """A table, type or index another process made while this one was making it."""
    text = str(exc.orig).lower()
    return isinstance(exc, IntegrityError) or "already exists" in text or "duplicate" in text


def _reason(exc: SQLAlchemyError) -> str:
    """The database's own words, without the statement and its rows."""
    orig = getattr(exc, "orig", None)
    return str(orig).strip() if orig is not None else str(exc).splitlines()[0]


def _run_row(document: Mapping[str, Any]) -> dict[str, Any]:
    run = document["run"]
    return {
        "kind": run["kind"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "sources": run["sources"],
        "lines": run["lines"],
        "events": run["events"],
        "skipped": run["skipped"],
        "spec_title": run.get("spec_title"),
        "coverage": document.get("coverage"),
        "stage_errors": run.get("stage_errors", {}),
        "summary": _run_summary(document),
    }


def _run_summary(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The document's summary, with the incident counts: the store keeps the most severe
    incidents in full (`report.document.MAX_INCIDENTS`), the counts cover all of them."""
    summary = document.get("summary")
    if summary is None:
        return None
    incidents = document.get("incidents") or {}
    return {
        **summary,
        "incidents": {
            "total": incidents.get("total", 0),
            "by_severity": incidents.get("by_severity", {}),
        },
    }


def _save_contents(conn: Connection, run_id: int, document: Mapping[str, Any]) -> None:
    rows = [_endpoint_row(run_id, e) for e in document["endpoints"]]
    if rows:
        conn.execute(insert(endpoints), rows)
    errors = [{"run_id": run_id, **e} for e in document["run"].get("errors", [])]
    if errors:
        conn.execute(insert(ingest_errors), errors)
    _save_findings(conn, run_id, document.get("findings"))
    _save_incidents(conn, run_id, document.get("incidents"))
    _save_actors(conn, run_id, document.get("actors") or [])
    _save_spec_audit(conn, run_id, document.get("spec_audit") or [])


def _save_spec_audit(conn: Connection, run_id: int, items: Sequence[Mapping[str, Any]]) -> None:
    keys = ("rule", "severity", "category", "method", "path", "title", "detail", "fix")
    rows = [
        {
            "run_id": run_id,
            **{key: item[key] for key in keys},
            "requests": item["requests"],
            "unauthenticated": item["unauthenticated"],
        }
        for item in items
    ]
    if rows:
        conn.execute(insert(spec_findings), rows)


def _save_actors(conn: Connection, run_id: int, items: Sequence[Mapping[str, Any]]) -> None:
    rows = [
        {
            "run_id": run_id,
            "actor": item["actor"],
            "requests": item["requests"],
            "high": item["threat"]["high"],
            "incidents": item.get("incidents", 0),
            "last_seen": item["last_seen"],
            "detail": item,
        }
        for item in items
    ]
    if rows:
        conn.execute(insert(actors), rows)


def _save_series(conn: Connection, run_id: int, series: Sequence[Point]) -> None:
    rows = [
        {
            "run_id": run_id,
            "endpoint": endpoint_key(*point.key),
            "start": point.start,
            "seconds": point.seconds,
            "requests": point.requests,
            "errors": point.errors,
            "p95_ms": point.p95_ms,
        }
        for point in series
    ]
    if rows:
        conn.execute(insert(endpoint_minutes), rows)


def _endpoint_row(run_id: int, endpoint: Mapping[str, Any]) -> dict[str, Any]:
    summary = {
        k: v
        for k, v in endpoint.items()
        if k not in ("state", "deprecated", "operation_id", "risk")
    }
    return {
        "run_id": run_id,
        "key": endpoint_key(endpoint["method"], endpoint["host"], endpoint["template"]),
        "method": endpoint["method"],
        "host": endpoint["host"],
        "template": endpoint["template"],
        "state": endpoint["state"],
        "deprecated": endpoint["deprecated"],
        "operation_id": endpoint["operation_id"],
        "risk_score": endpoint["risk"]["score"],
        "risk_factors": endpoint["risk"]["factors"],
        "requests": endpoint["requests"],
        "first_seen": endpoint["first_seen"],
        "last_seen": endpoint["last_seen"],
        "summary": summary,
    }


def _save_findings(conn: Connection, run_id: int, findings: Mapping[str, Any] | None) -> None:
    if not findings:
        return
    levels = [
        {"run_id": run_id, "level": level, "requests": n}
        for level, n in findings["threat_levels"].items()
    ]
    if levels:
        conn.execute(insert(threat_levels), levels)
    rules = [{"run_id": run_id, **rule} for rule in findings["rules"]]
    if rules:
        conn.execute(insert(finding_rules), rules)


def _save_incidents(conn: Connection, run_id: int, section: Mapping[str, Any] | None) -> None:
    if not section or not section["items"]:
        return
    rows = [
        {
            "run_id": run_id,
            "incident": item["id"],
            "severity": item["severity"],
            "title": item["title"],
            "category": item["category"],
            "scope": item["scope"],
            "first_seen": item["first_seen"],
            "last_seen": item["last_seen"],
            "detail": item,
        }
        for item in section["items"]
    ]
    conn.execute(insert(incidents), rows)
    links = {
        (item["id"], key)
        for item in section["items"]
        for name in item["endpoints"]
        if (key := named_endpoint_key(name)) is not None
    }
    if links:
        conn.execute(
            insert(incident_endpoints),
            [{"run_id": run_id, "incident": n, "endpoint": key} for n, key in sorted(links)],
        )
