"""The stream's clock: a line dated far from its neighbours moves nothing; a gap between files
is followed."""

from __future__ import annotations

from apishield.detect.clock import CONFIRM, LEAP, StreamClock

T = 1_767_225_600.0
FUTURE = 4_070_908_800.0  # 2099-01-01
DAY = 86_400.0


def _placed(clock: StreamClock, times: list[float]) -> list[float]:
    return [clock.place(t) for t in times]


def test_a_line_dated_far_ahead_is_taken_at_the_streams_time_and_counted() -> None:
    clock = StreamClock()
    _placed(clock, [T + n for n in range(20)])
    assert clock.place(FUTURE) == T + 19
    assert clock.place(T + 20) == T + 20
    assert (clock.watermark, clock.suspect, clock.first_suspect) == (T + 20, 1, FUTURE)
    assert clock.began == T


def test_a_line_dated_far_behind_is_taken_at_the_streams_time_and_counted() -> None:
    clock = StreamClock()
    _placed(clock, [T + n for n in range(20)])
    assert clock.place(DAY) == T + 19
    assert clock.suspect == 1
    assert clock.began == T


def test_a_stray_first_line_neither_starts_the_warm_up_nor_holds_the_clock() -> None:
    for stray in (FUTURE, DAY):
        clock = StreamClock()
        placed = _placed(clock, [stray, *(T + n for n in range(20))])
        assert placed[1:] == [T + n for n in range(20)]
        assert clock.began == T
        assert clock.watermark == T + 19
        assert clock.suspect == 1


def test_a_gap_of_days_between_files_is_followed_after_a_few_lines() -> None:
    clock = StreamClock()
    _placed(clock, [T + n for n in range(100)])
    later = [T + 3 * DAY + n for n in range(20)]
    placed = _placed(clock, later)
    assert placed[: CONFIRM - 1] == [T + 99] * (CONFIRM - 1)
    assert placed[CONFIRM - 1 :] == later[CONFIRM - 1 :]
    assert clock.began == T  # the warm-up is long over
    assert clock.suspect == 0  # the run was real: nothing is reported as wrong
    assert clock.jumps == 1


def test_quiet_hours_inside_the_leap_move_the_clock_at_once() -> None:
    clock = StreamClock()
    _placed(clock, [T + n for n in range(20)])
    assert clock.place(T + LEAP) == T + LEAP
    assert clock.suspect == 0


def test_far_lines_that_disagree_with_each_other_never_move_the_clock() -> None:
    clock = StreamClock()
    _placed(clock, [T + n for n in range(20)])
    for n in range(3 * CONFIRM):
        clock.place(T + (n + 2) * DAY)
    assert clock.watermark == T + 19
    assert clock.suspect == 3 * CONFIRM
