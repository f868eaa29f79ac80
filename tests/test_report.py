"""The HTML report is self-contained: every image embedded, no external reference."""

from __future__ import annotations

import base64
import json
import re

import pytest

from exolrs.errors import ExolrsError
from exolrs.report import build_report

WHITE_FIT = {
    "best": {"rp": 0.146},
    "err_low": {"rp": -0.001},
    "err_high": {"rp": 0.001},
    "residual_rms_ppm": 400.0,
    "expected_noise_ppm": 390.0,
    "acceptance_fraction": 0.3,
    "steps_over_autocorr": 12.0,
    "sampler": "dynesty",
    "error_scale": 1.07,
    "red_noise_beta": 1.21,
    "log_evidence": 1234.56,
    "log_evidence_err": 0.12,
    "common_red_rms_ppm": 163.6,
    "common_red_tau_min": 29.9,
}


def test_report_embeds_figures_and_numbers(tmp_path):
    run = tmp_path / "red"
    (run / "Stage4").mkdir(parents=True)
    (run / "Stage2").mkdir()
    import numpy as np

    from exolrs.plots.stage4 import plot_allan

    fig = plot_allan(np.random.default_rng(0).normal(size=500), run / "Stage4" / "allan.png")
    plot_allan(np.random.default_rng(1).normal(size=500), run / "Stage2" / "pca.png")
    (run / "run.json").write_text(
        json.dumps(
            {
                "target": "WASP-39b",
                "started": "s",
                "finished": "f",
                "versions": {"exolrs": "0"},
                "parameters": {"target": "WASP-39b"},
                "peak_rss": {"main_MB": 1},
                "stages": {
                    "4": {
                        "wall_s": 3.0,
                        "step_s": {"white_fit": 1.0},
                        "truth_metrics": {"chi2_nu": 0.9, "mean_bias_sigma": 0.1, "n_channels": 18},
                    }
                },
            }
        )
    )
    (run / "Stage4" / "white_fit.json").write_text(json.dumps(WHITE_FIT))
    path = build_report(run)
    text = path.read_text()
    images = re.findall(r'<img[^>]*src="([^"]+)"', text)
    assert len(images) == 2
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(http|//|file:)', text)
    assert "χ²ν = 0.90" in text and "0.146" in text and "WASP-39b" in text
    for said in (
        "sampler dynesty",
        "propagated errors 1.07",
        "β 1.21",
        "ln Z = 1234.6 ± 0.1",
        "common to every wavelength: 164 ppm per integration, time scale 30 min",
    ):
        assert said in text
    assert fig.exists()


def test_report_needs_a_run(tmp_path):
    with pytest.raises(ExolrsError, match=r"no run\.json"):
        build_report(tmp_path)


def test_report_renders_in_headless_chromium(tmp_path):
    """Render a report with Debian's Chromium and check the screenshot is not blank."""
    import shutil
    import subprocess

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it when it can)")
    test_report_embeds_figures_and_numbers(tmp_path)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1000,1400",
            f"--screenshot={shot}",
            (tmp_path / "red" / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] > 500 and pixels.std() > 0.05  # text, tables and figures drawn


def test_numbers_carry_the_digits_their_errors_allow():
    from exolrs.report import with_error

    assert with_error(0.146457, -0.000124, 0.000138) == ("0.14646", "-0.00012", "+0.00014")
    assert with_error(-3.68891051e-06, -1.2e-6, 1.3e-6) == (
        "-0.0000037",
        "-0.0000012",
        "+0.0000013",
    )
    assert with_error(59774.775427, -0.00021, 0.0002) == ("59774.77543", "-0.00021", "+0.00020")
    assert with_error(0.1, None, None) == ("0.1", "", "")  # a fixed parameter


def test_light_curve_and_spectrum_come_first(tmp_path):
    import numpy as np

    from exolrs.plots.stage4 import plot_allan

    run = tmp_path / "red"
    (run / "Stage4").mkdir(parents=True)
    for name in ("allan.png", "white_light_curve.png", "transmission_spectrum.png"):
        plot_allan(np.random.default_rng(0).normal(size=200), run / "Stage4" / name)
    (run / "run.json").write_text(json.dumps({"target": "T", "stages": {"4": {"wall_s": 1}}}))
    (run / "Stage4" / "white_fit.json").write_text(json.dumps(WHITE_FIT))
    text = build_report(run).read_text()
    order = [text.index(f'alt="{n}"') for n in ("white_light_curve", "transmission_spectrum")]
    assert order[0] < order[1] < text.index("White light curve fit") < text.index('alt="allan"')
    assert text.count('alt="white_light_curve"') == 1
    assert "0.1460" in text and "0.146000" not in text
