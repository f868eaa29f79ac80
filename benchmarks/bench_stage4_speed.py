"""Stage 4 before/after on one machine in one run: times, convergence and posteriors.

    python benchmarks/bench_stage4_speed.py SPECTRA TRUTH_JSON TRUTH_ECSV --before-src OLD/src

Runs bench_stage4.py on the same spectra with R = 20 channels and with 0.25 µm channels,
first with this checkout, then with an older checkout's sources (`--before-src`, e.g. a git
worktree of the commit before the change), then this checkout again with another seed (the
sampling noise of one run against another).  Writes results/<date>-stage4-speed.json, which
compare.py puts in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from compare_stage4 import compare, load

HERE = Path(__file__).resolve().parent
BINNINGS = {"R20": ["--resolution", "20"], "width0.25": ["--bin-width", "0.25"]}


def run(src: Path, args, binning: str, seed: int, save: Path) -> dict:
    """One bench_stage4.py run with `src` first on the path; its JSON line and peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [
        "/usr/bin/time", "-f", "%M", sys.executable, str(HERE / "bench_stage4.py"),
        str(args.spectra), str(args.truth_json), str(args.truth_ecsv), *BINNINGS[binning],
        "--detrend", "x_shift,y_shift", "--seed", str(seed), "--save", str(save),
    ]  # fmt: skip
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    record = json.loads(out.stdout.strip().splitlines()[-1])
    record["peak_rss_MB"] = round(int(out.stderr.strip().splitlines()[-1]) / 1024)
    print(f"[stage4-speed] {src} {binning} seed {seed}: {record['seconds']}", flush=True)
    return record


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spectra", type=Path)
    ap.add_argument("truth_json", type=Path)
    ap.add_argument("truth_ecsv", type=Path)
    ap.add_argument("--before-src", type=Path, required=True)
    args = ap.parse_args()
    after_src = HERE.parent / "src"
    result: dict = {"runs": {}, "posteriors": {}}
    with tempfile.TemporaryDirectory() as tmp:
        saved = {}
        for label, src, seed in (("after", after_src, 0), ("before", args.before_src, 0)):
            for b in BINNINGS:
                saved[label, b] = Path(tmp) / f"{label}_{b}.json"
                result["runs"][f"{label} {b}"] = run(src, args, b, seed, saved[label, b])
        saved["again", "R20"] = Path(tmp) / "again.json"
        result["runs"]["after R20 seed 1"] = run(after_src, args, "R20", 1, saved["again", "R20"])
        for b in BINNINGS:
            result["posteriors"][f"after vs before {b}"] = compare(
                load(saved["before", b]), load(saved["after", b])
            )
        result["posteriors"]["after seed 1 vs seed 0 R20"] = compare(
            load(saved["after", "R20"]), load(saved["again", "R20"])
        )
    path = HERE / "results" / f"{datetime.date.today()}-stage4-speed.json"
    path.write_text(json.dumps(result, indent=1))
    print(path)


if __name__ == "__main__":
    main()
