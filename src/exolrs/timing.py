"""Wall seconds of a stage's steps or passes, for run.json and the benchmarks."""

from __future__ import annotations

import time


class Clock:
    """Seconds by name since the previous lap, summed over laps of the same name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.t
        self.t = now

    def rounded(self, digits: int = 3) -> dict[str, float]:
        return {k: round(v, digits) for k, v in self.seconds.items()}


def sum_seconds(many) -> dict[str, float]:
    """Seconds by name summed over several Clocks' `seconds` (chunks, processes)."""
    out: dict[str, float] = {}
    for seconds in many:
        for k, v in seconds.items():
            out[k] = out.get(k, 0.0) + v
    return out
