"""One self-contained HTML page per run: every diagnostic figure (embedded as base64 PNG),
the white-light fit, the transmission spectrum, parameters, timings, memory and versions.

No external asset is referenced, so the file can be mailed or archived as it is.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from pathlib import Path

from exolrs.errors import ExolrsError

# what an astronomer reads first, at the top of the page
FIRST_FIGURES = ("white_light_curve.png", "transmission_spectrum.png")

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:right}th{background:#f4f4f4}figure{display:inline-block;margin:.5em;
vertical-align:top}img{max-width:520px;border:1px solid #eee}figcaption{font-size:.85em}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em}.ok{color:#070}
"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(path.name)}</figcaption></figure>"
    )


def _table(rows: list[dict], columns: list[str], fmt: dict | None = None) -> str:
    fmt = fmt or {}
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            cells.append(f"<td>{fmt[c](v) if c in fmt and v != '' else html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def with_error(value, low=None, high=None) -> tuple[str, str, str]:
    """(value, −error, +error) as text, rounded to the error's second significant digit
    (6 significant digits when there is no error, e.g. a fixed parameter)."""
    errors = [abs(float(e)) for e in (low, high) if e not in (None, "")]
    errors = [e for e in errors if math.isfinite(e) and e > 0]
    if not errors or not math.isfinite(float(value)):
        return f"{float(value):.6g}", "", ""
    decimals = max(0, 1 - math.floor(math.log10(min(errors))))
    return (
        f"{float(value):.{decimals}f}",
        "" if low in (None, "") else f"{-abs(float(low)):.{decimals}f}",
        "" if high in (None, "") else f"+{abs(float(high)):.{decimals}f}",
    )


def build_report(run_dir: str | os.PathLike, output: str | os.PathLike | None = None) -> Path:
    """Write `<run_dir>/report.html` (or `output`) and return its path."""
    run_dir = Path(run_dir)
    record_path = run_dir / "run.json"
    if not record_path.is_file():
        raise ExolrsError(
            f"{run_dir} has no run.json; give the output_dir of a finished `exolrs run`"
        )
    record = json.loads(record_path.read_text())
    target = html.escape(str(record.get("target", "target")))
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>exolrs: {target}"
        f"</title><style>{STYLE}</style></head><body>",
        f"<h1>exolrs reduction of {target}</h1>",
        f"<p>started {html.escape(record.get('started', '?'))}, finished "
        f"{html.escape(record.get('finished', '?'))}; stages "
        f"{', '.join(record.get('stages', {}))}</p>",
    ]
    stages = record.get("stages", {})
    s4 = stages.get("4", {})
    metrics = s4.get("truth_metrics")
    if metrics:
        from exolrs.stage4.accuracy import summary

        parts.append(f"<p class='ok'>Recovered spectrum vs injected truth: {summary(metrics)}.</p>")
    first = [run_dir / "Stage4" / n for n in FIRST_FIGURES]
    parts += [_img(f) for f in first if f.is_file()]
    white_path = run_dir / "Stage4" / "white_fit.json"
    if white_path.is_file():
        w = json.loads(white_path.read_text())
        rows = []
        for k, v in w["best"].items():
            value, lo, hi = with_error(v, w["err_low"].get(k), w["err_high"].get(k))
            rows.append({"parameter": k, "value": value, "−1σ": lo, "+1σ": hi})
        parts += [
            "<h2>White light curve fit</h2>",
            _table(rows, ["parameter", "value", "−1σ", "+1σ"]),
            f"<p>residual rms {w['residual_rms_ppm']:.0f} ppm; expected from the "
            f"propagated errors {w['expected_noise_ppm']:.0f} ppm; {_sampling(w)}</p>",
        ]
        if "common_red_rms_ppm" in w:
            parts.append(
                f"<p>red noise common to every wavelength: {w['common_red_rms_ppm']:.0f} ppm "
                f"per integration, time scale {w['common_red_tau_min']:.0f} min; its error on "
                "every depth is the spectrum's <code>depth_err_common</code> (shared by all "
                "channels, not in depth_err_low/high)</p>"
            )
    spec_path = run_dir / "Stage4" / "transmission_spectrum.ecsv"
    if spec_path.is_file():
        from astropy.table import Table

        t = Table.read(spec_path)
        from exolrs.io.tables import SPECTRUM_COLUMNS

        cols = [c for c in SPECTRUM_COLUMNS if c in t.colnames]
        rows = [{c: float(r[c]) for c in cols} for r in t]
        ppm = {c: (lambda v: f"{1e6 * v:.0f}") for c in cols if "depth" in c}
        um = {c: "{:.3f}".format for c in ("wavelength", "bin_half_width")}
        parts += ["<h2>Transmission spectrum (ppm)</h2>", _table(rows, cols, {**ppm, **um})]
    for stage in ("1", "2", "3", "4"):
        folder = run_dir / f"Stage{stage}"
        figures = sorted(folder.glob("*.png")) if folder.is_dir() else []
        figures = [f for f in figures if f not in first]  # already at the top
        info = stages.get(stage)
        if not figures and not info:
            continue
        parts.append(f"<h2>Stage {stage}</h2>")
        if info:
            parts.append(f"<p>wall time {info.get('wall_s', '?')} s</p>")
            steps = info.get("step_cpu_s") or info.get("step_s")
            if steps:
                parts.append(
                    _table(
                        [{"step": k, "seconds": v} for k, v in steps.items()], ["step", "seconds"]
                    )
                )
        parts += [_img(f) for f in figures]
    parts += [
        "<h2>Run</h2>",
        f"<p>peak memory: {html.escape(json.dumps(record.get('peak_rss', {})))}</p>",
        "<h3>Versions</h3>",
        f"<pre>{html.escape(json.dumps(record.get('versions', {}), indent=1))}</pre>",
        "<h3>Parameters</h3>",
        f"<pre>{html.escape(json.dumps(record.get('parameters', {}), indent=1))}</pre>",
        "</body></html>",
    ]
    out = Path(output) if output else run_dir / "report.html"
    tmp = out.with_name(f".{out.name}.part")
    try:
        tmp.write_text("\n".join(parts), encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExolrsError(f"could not write {out}: {exc.strerror or exc}") from None
    return out


def _sampling(w: dict) -> str:
    """How the white fit was sampled, in one sentence: acceptance, chain length in
    autocorrelation times, the noise scale, the red-noise β, the evidence when there is one."""
    parts = [f"sampler {w.get('sampler', 'emcee')}", f"acceptance {w['acceptance_fraction']:.2f}"]
    if math.isfinite(w.get("steps_over_autocorr", math.nan)):
        parts.append(f"chain length / autocorrelation time {w['steps_over_autocorr']:.1f}")
    if "error_scale" in w:
        parts.append(f"scatter / propagated errors {w['error_scale']:.2f}")
    if "red_noise_beta" in w:
        parts.append(f"red-noise β {w['red_noise_beta']:.2f}")
    if math.isfinite(w.get("gp_amplitude", math.nan)):
        parts.append(
            f"red-noise GP rms {w['gp_amplitude']:.2g} × the propagated errors, time scale "
            f"{w['gp_timescale_min']:.2g} min"
        )
    if "log_evidence" in w:
        parts.append(f"ln Z = {w['log_evidence']:.1f} ± {w['log_evidence_err']:.1f}")
    return "; ".join(parts)
