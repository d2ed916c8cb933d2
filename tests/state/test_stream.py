"""The exchange stream on the real Redis: batches in, one consumer per entry, take-over, ack."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from apishield.state.stream import ExchangeStream
from apishield.stateful import StateUnavailable


@pytest.fixture
def stream(redis_url: str, redis_prefix: str) -> Iterator[ExchangeStream]:
    stream = ExchangeStream.from_url(redis_url, redis_prefix + "exchanges", "workers", timeout=2.0)
    yield stream
    stream.close()


def test_each_entry_goes_to_one_consumer_and_stays_pending_until_acked(
    stream: ExchangeStream,
) -> None:
    assert stream.create_group() is True
    assert stream.create_group() is False  # a second worker finds it there
    ids = stream.add([b"one", b"two", b"three"])
    assert len(ids) == 3
    first = stream.read("a", 2)
    second = stream.read("b", 10)
    assert [e.payload for e in first] == [b"one", b"two"]
    assert [e.payload for e in second] == [b"three"]
    assert stream.read("b", 10) == []
    assert stream.pending() == 3
    assert stream.ack([e.id for e in first]) == 2
    assert stream.pending() == 1
    assert stream.client.xlen(stream.key) == 3  # acknowledged, not deleted
    assert stream.ack([e.id for e in second], delete=True) == 1
    assert stream.client.xlen(stream.key) == 2


def test_entries_added_before_the_group_exists_are_read(stream: ExchangeStream) -> None:
    stream.add([b"early"])
    stream.create_group()
    assert [e.payload for e in stream.read("a", 10)] == [b"early"]


def test_a_restarted_consumer_reads_its_own_history_after_an_id(stream: ExchangeStream) -> None:
    stream.create_group()
    stream.add([b"1", b"2", b"3"])
    given = stream.read("a", 10)
    assert [e.payload for e in stream.read_own("a", 2)] == [b"1", b"2"]
    rest = stream.read_own("a", 10, after=given[1].id)
    assert [e.payload for e in rest] == [b"3"]
    assert stream.read_own("b", 10) == []


def test_idle_entries_are_taken_over_and_trimmed_ones_reported_gone(
    stream: ExchangeStream,
) -> None:
    stream.create_group()
    ids = stream.add([b"1", b"2", b"3"])
    stream.read("dead", 10)
    assert stream.claim("alive", 60_000, 10).entries == []  # not idle long enough
    stream.client.xdel(stream.key, ids[0])  # trimmed while pending
    claimed = stream.claim("alive", 0, 10)
    assert [e.payload for e in claimed.entries] == [b"2", b"3"]
    assert claimed.gone == [ids[0]]
    assert claimed.next_start == "0-0"
    assert [e.payload for e in stream.read_own("alive", 10)] == [b"2", b"3"]


def test_an_entry_without_the_exchange_field_has_no_payload(stream: ExchangeStream) -> None:
    stream.create_group()
    stream.client.xadd(stream.key, {"other": b"1"})
    (entry,) = stream.read("a", 10)
    assert entry.payload is None


def test_maxlen_trims_approximately(redis_url: str, redis_prefix: str) -> None:
    stream = ExchangeStream.from_url(redis_url, redis_prefix + "short", "g", maxlen=10)
    try:
        for _ in range(20):
            stream.add([b"x"] * 100)
        assert stream.client.xlen(stream.key) < 400
    finally:
        stream.close()


def test_a_dead_redis_raises_state_unavailable_naming_where() -> None:
    stream = ExchangeStream.from_url("redis://127.0.0.1:1/0", "k", "g", timeout=0.2)
    try:
        with pytest.raises(StateUnavailable, match=r"127\.0\.0\.1:1/0 stream k"):
            stream.add([b"x"])
        with pytest.raises(StateUnavailable):
            stream.create_group()
    finally:
        stream.close()


def test_a_batch_is_added_after_redis_forgot_the_script(stream: ExchangeStream) -> None:
    stream.add([b"before"])
    stream.client.script_flush()  # what a restarted Redis looks like to the client
    ids = stream.add([b"after", b"again"])
    stream.create_group()
    entries = stream.read("a", 10)
    assert [e.payload for e in entries] == [b"before", b"after", b"again"]
    assert [e.id for e in entries[1:]] == ids


def test_payloads_are_kept_byte_for_byte(stream: ExchangeStream) -> None:
    payloads = [bytes(range(256)), b"\xff\xfe not utf-8 \x00", b"", b"x" * 100_000]
    stream.add(payloads)
    stream.create_group()
    assert [e.payload for e in stream.read("a", 10)] == payloads


def test_a_batch_larger_than_one_call_goes_in_order_in_several(
    stream: ExchangeStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("apishield.state.stream.CALL_BYTES", 10)
    calls: list[int] = []
    add_call = stream._add_call

    def counted(chunk: Sequence[bytes]) -> list[str]:
        calls.append(len(chunk))
        return add_call(chunk)

    monkeypatch.setattr(stream, "_add_call", counted)
    payloads = [b"aaaa", b"bbbb", b"cc", b"d" * 30, b"ee", b"f"]
    ids = stream.add(payloads)
    assert calls == [3, 1, 2]  # 4+4+2 fit in 10; the 30-byte one alone; then the rest
    stream.create_group()
    entries = stream.read("a", 10)
    assert [e.payload for e in entries] == payloads
    assert [e.id for e in entries] == ids
