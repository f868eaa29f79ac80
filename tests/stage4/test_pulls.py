"""Light-curve pull test (benchmarks/pulls.py on fewer realisations): depth errors are honest
under white noise, and under red noise the time-averaging β makes them less dishonest; the
full table with 300 realisations per case is in docs/benchmarks.md."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import pulls


def test_pulls_are_honest_under_white_noise():
    for option in ("none", "beta"):
        result = pulls.pulls("white", option, realisations=80, seed=1)
        assert 0.8 < result["std"] < 1.2, (option, result)
        assert abs(result["mean"]) < 0.35, (option, result)


def test_beta_widens_the_errors_under_red_noise():
    plain = pulls.pulls("white+ar1", "none", realisations=80, seed=2)
    widened = pulls.pulls("white+ar1", "beta", realisations=80, seed=2)
    assert plain["std"] > 1.4  # white-noise errors are too small under red noise
    assert widened["beta"] > 1.2 and widened["std"] < plain["std"] / 1.2
