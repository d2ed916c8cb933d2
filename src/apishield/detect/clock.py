"""The stream's own clock: the event time detectors judge by, robust to a line with a wrong date.

Detectors keep windows, records and incidents in event time, and the warm-up is measured from the
stream's start. One line dated 2099 (or 1970) must not move that clock: windows it opened would
never roll over, incidents would never close, and a first line in 2099 would keep the baselines
in warm-up for the whole run. Replays legitimately jump, though: logs of Monday then Thursday.

So the clock follows runs of events. An event within `LEAP` of the watermark (the latest time of
the run it follows) is taken as it is. An event further away, ahead or behind, is suspect: it is
counted and analysed at the watermark, and moves nothing. When `CONFIRM` suspect events in a row
agree with one another, they are a new run (the next log file) and the clock follows them. Until
a run holds `CONFIRM` events it is not trusted: the first far event replaces it (a stray first
line). The warm-up starts at the start of the earliest trusted run.
"""

from __future__ import annotations

LEAP = 6 * 3_600.0
"""How far, either way, an event may lie from the watermark and still be taken as it is."""
CONFIRM = 8
"""Far events in a row, within `LEAP` of each other, that make the clock jump to them."""


class StreamClock:
    def __init__(self) -> None:
        self.watermark: float | None = None
        """The latest event time of the run the clock follows."""
        self.suspect = 0
        """Events that lay further than `LEAP` from the clock and were analysed at it."""
        self.first_suspect: float | None = None
        """The time of the first of them, to show what was wrong."""
        self.jumps = 0
        """Times the clock followed a new run (a gap between log files, or a stray start)."""
        self._began: float | None = None
        """The start of the earliest trusted run."""
        self._run_start = 0.0
        self._run_size = 0
        self._far_start = 0.0
        self._far_size = 0

    @property
    def began(self) -> float | None:
        """Where the warm-up starts: the earliest trusted run, or the run followed so far."""
        return self._run_start if self._began is None else self._began

    def place(self, time: float) -> float:
        """The event time detectors should use for an event at `time`."""
        watermark = self.watermark
        if watermark is None:
            self._follow(time)
            return time
        if watermark - LEAP <= time <= watermark + LEAP:
            self._far_size = 0
            if time > watermark:
                self.watermark = time
            self._grow()
            return time
        if self._run_size < CONFIRM:
            # The run so far is too short to trust, and either it or this event is wrong: the
            # clock follows the event, and counts the run it leaves as suspect.
            self._count(self._run_start, self._run_size)
            self._follow(time)
            self.jumps += 1
            return time
        if self._far_size and abs(time - self._far_start) <= LEAP:
            self._far_size += 1
        else:
            self._far_start, self._far_size = time, 1
        if self._far_size >= CONFIRM:
            self._follow(time)
            self._run_start = self._far_start
            self._run_size = CONFIRM - 1
            self._grow()
            self.jumps += 1
            # The events that led up to the jump were a real run, not wrong times.
            self.suspect -= CONFIRM - 1
            if not self.suspect:
                self.first_suspect = None
            return time
        self._count(time, 1)
        return watermark

    def _count(self, time: float, events: int) -> None:
        self.suspect += events
        if self.first_suspect is None:
            self.first_suspect = time

    def _follow(self, time: float) -> None:
        self.watermark = time
        self._run_start = time
        self._run_size = 1
        self._far_size = 0

    def _grow(self) -> None:
        self._run_size += 1
        if self._run_size == CONFIRM and (self._began is None or self._run_start < self._began):
            self._began = self._run_start
