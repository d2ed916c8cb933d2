from __future__ import annotations

from apishield.detect.ownership import CLAIM_LIMIT, FLOOR, ObjectOwnership
from apishield.detect.roles import EndpointRoles
from apishield.detect.testing import ENDPOINT, make_observation
from apishield.state.memory import MemoryState

OBJECTS = EndpointRoles(ENDPOINT, object_params=("id",))
DAY = 86_400.0
T = 1_767_225_600.0


def _read(
    detector: ObjectOwnership,
    state: MemoryState,
    actor: str,
    obj: str,
    at: float,
    status: int = 200,
) -> list[str]:
    observation = make_observation(
        actor=actor, roles=OBJECTS, objects=[obj], time=at, status=status
    )
    return [d.finding.rule_id for d in detector.observe(observation, state) if d.fresh]


def _owners(detector: ObjectOwnership, state: MemoryState, count: int, at: float) -> None:
    """`count` customers each reading their own account, twice."""
    for n in range(count):
        for again in range(2):
            assert not _read(detector, state, f"id:owner-{n}", f"acct-{n}", at + n + again)


def test_an_identity_walking_other_customers_objects_fires_within_a_few_reads() -> None:
    detector, state = ObjectOwnership(), MemoryState()
    _owners(detector, state, 40, T)
    for hour in range(30):  # a month-old identity reading its own account
        _read(detector, state, "id:mallory", "acct-mallory", T - 30 * DAY + hour * DAY)
    fired = []
    for n in range(40):
        fired += [
            (n + 1, rule) for rule in _read(detector, state, "id:mallory", f"acct-{n}", T + 100 + n)
        ]
    assert fired and fired[0] == (FLOOR + 1, "bola.foreign-objects")


def test_objects_nobody_holds_are_claimed_not_foreign() -> None:
    detector, state = ObjectOwnership(), MemoryState()
    fired = [_read(detector, state, "id:fleet", f"line-{n}", T + n) for n in range(60)]
    assert not any(fired)
    assert not _read(detector, state, "id:fleet", "line-7", T + 100)


def test_a_bulk_reader_claims_nothing_so_owners_still_own_their_objects() -> None:
    detector, state = ObjectOwnership(), MemoryState()
    for n in range(CLAIM_LIMIT + 50):
        _read(detector, state, "key:batch", f"acct-{n}", T + n)
    # the batch claimed the first accounts it read, so a later owner shares them once;
    # accounts past its claim limit stay unclaimed and go to their owners
    late = CLAIM_LIMIT + 10
    assert not _read(detector, state, "id:owner", f"acct-{late}", T + 10_000)
    assert not _read(detector, state, "id:someone-else", f"acct-{late}", T + 10_001)


def test_an_identity_that_always_reads_others_objects_is_judged_by_its_own_history() -> None:
    detector, state = ObjectOwnership(), MemoryState()
    _owners(detector, state, 200, T - 3 * DAY)
    fired = []
    for hour in range(48):  # a partner reading 30 customers' accounts an hour for two days
        for n in range(30):
            obj = f"acct-{(hour * 30 + n) % 200}"
            fired += _read(detector, state, "key:partner", obj, T - 2 * DAY + hour * 3600 + n)
    # its first hours exceed the (empty) peer history; once it has its own, the same pace is normal
    late = [
        _read(detector, state, "key:partner", f"acct-{n}", T + 3600 * 5 + 60 * n) for n in range(30)
    ]
    assert not any(late)


def test_a_foreign_read_after_many_refusals_fires() -> None:
    detector, state = ObjectOwnership(), MemoryState()
    _owners(detector, state, 5, T)
    for n in range(6):
        assert not _read(detector, state, "id:walker", f"missing-{n}", T + 50 + n, status=404)
    assert _read(detector, state, "id:walker", "acct-3", T + 60) == ["bola.success-after-failures"]


def test_a_user_with_stale_links_reading_a_shared_line_is_not_flagged() -> None:
    detector, state = ObjectOwnership(), MemoryState()
    _owners(detector, state, 5, T)
    for n in range(3):
        _read(detector, state, "id:me", f"stale-{n}", T + 50 + n, status=404)
    assert not _read(detector, state, "id:me", "acct-2", T + 60)


def test_nothing_is_judged_while_the_engine_is_learning() -> None:
    detector, state = ObjectOwnership(), MemoryState()
    _owners(detector, state, 40, T)
    cold = [
        make_observation(
            actor="id:x", roles=OBJECTS, objects=[f"acct-{n}"], time=T + 99 + n, warm=False
        )
        for n in range(40)
    ]
    assert not [d for o in cold for d in detector.observe(o, state)]


def test_objects_under_an_object_the_identity_holds_are_its_own() -> None:
    detector, state = ObjectOwnership(), MemoryState()
    nested = EndpointRoles(ENDPOINT, object_params=("customer", "line"))
    for n in range(60):  # each employee reads their own line first
        _read(detector, state, f"id:employee-{n}", f"line-{n}", T + n)
    _read(detector, state, "id:manager", "company", T + 100)
    fired = []
    for n in range(60):  # the fleet manager reads every line under the company's number
        observation = make_observation(
            actor="id:manager", roles=nested, objects=["company", f"line-{n}"], time=T + 200 + n
        )
        fired += [d.finding.rule_id for d in detector.observe(observation, state)]
    assert fired == []
    # other companies' numbers, each held by its own manager, are someone else's
    for n in range(20):
        _read(detector, state, f"id:other-{n}", f"company-{n}", T + 150 + n)
    walk = [
        make_observation(
            actor="id:manager", roles=nested, objects=[f"company-{n}", "line-0"], time=T + 300 + n
        )
        for n in range(20)
    ]
    rules = [d.finding.rule_id for o in walk for d in detector.observe(o, state)]
    assert "bola.foreign-objects" in rules
