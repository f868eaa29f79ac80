"""The side-by-side benchmark's report (benchmarks/compare.py): tables, ratios and the
labelling of extrapolated times, from result files alone."""

from __future__ import annotations

import json

import pytest

from tests.conftest import load_benchmark


@pytest.fixture()
def compare(tmp_path, monkeypatch):
    mod = load_benchmark("compare")
    monkeypatch.setattr(mod, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(mod, "DOCS", tmp_path / "docs")
    (tmp_path / "results").mkdir()
    (tmp_path / "docs").mkdir()
    return mod


def _run(label, nints, exolrs_s, peer_s, measured_on):
    acc = {
        "white_residual_over_expected": 1.0,
        "white_rp_offset_sigma": 0.1,
        "allan_slope": -0.5,
        "chi2_nu": 1.0,
        "mean_bias_sigma": 0.0,
        "median_depth_sigma_ppm": 100.0,
        "spectrum": "/nonexistent.ecsv",
    }
    exo = {"stage1": peer_s * 0.9, "stage2": peer_s * 0.05, "stage3": peer_s * 0.05}
    tools = {
        "exolrs": {
            "seconds": {"stage1": exolrs_s * 0.9, "stage2": exolrs_s * 0.1, "stage3": 0.0},
            "seconds_stages_1_3": exolrs_s,
            "peak_rss_mb": {"main_MB": 500, "largest_worker_MB": 1000},
            "workers": 2,
            "accuracy": acc,
        },
        "exotedrf": {"seconds": exo, "measured_on_nints": measured_on, "peak_rss_mb": 9000},
    }
    if measured_on < nints:
        tools["exotedrf"]["extrapolated_seconds"] = {
            k: v * nints / measured_on for k, v in exo.items()
        }
    else:
        tools["exotedrf"]["accuracy"] = acc
    return {"date": "2026-01-01", "label": label, "nints": nints, "ngroups": 100, "tools": tools}


def test_report_states_ratios_and_marks_extrapolations(compare):
    for r in (_run("medium", 400, 40.0, 800.0, 400), _run("full", 1800, 150.0, 500.0, 250)):
        (compare.RESULTS / f"2026-01-01-compare-{r['label']}.json").write_text(json.dumps(r))
    text = compare.write_docs().read_text()
    medium, full = text.split("## `full`")[0], text.split("## `full`")[1]
    assert "20.0× (Stages 1–3)" in medium and "extrapolated" not in medium.split("|---")[1]
    # 500 s on 250 of 1800 integrations → 3600 s, 24× the 150 s of exolrs, said to be scaled
    assert "3,600 (extrapolated)" in full and "24.0× (extrapolated)" in full
    assert "timed on 250 ints only" in full
    assert (compare.DOCS / "figures" / "benchmark_scaling.png").exists()


def test_stage4_sections_come_from_their_result_files(compare):
    run = {
        "seconds": {"white_fit": 9.5, "channel_fits": 7.25},
        "wall_s": 17.0,
        "steps_over_autocorr": 52.0,
        "channel_steps_over_autocorr_min": 61.0,
        "n_channels": 18,
        "peak_rss_MB": 340,
    }
    post = {
        "n_channels": 18,
        "max_abs_median_shift_sigma": 0.12,
        "mean_median_shift_sigma": 0.01,
        "width_ratio_median": 0.99,
        "width_ratio_range": [0.95, 1.04],
    }
    speed = {"runs": {"after R20": run}, "posteriors": {"after vs before R20": post}}
    (compare.RESULTS / "2026-12-02-stage4-speed.json").write_text(json.dumps(speed))
    pulls = {"white+ar1 / beta": {"mean": 0.05, "std": 1.31, "beta": 1.4, "n": 300}}
    (compare.RESULTS / "2026-12-02-pulls.json").write_text(json.dumps(pulls))
    text = compare.write_docs().read_text()
    assert "| after R20 (18 channels) | 9.5 | 7.2 | 17.0 | 52 | 61 | 340 |" in text
    assert "| after vs before R20 | 18 | 0.12 σ | +0.01 σ | 0.990 (0.95–1.04) |" in text
    assert "| white+ar1 / beta | 300 | +0.05 | 1.31 | 1.40 |" in text


def test_stage1_floor_section(compare):
    run = {"read_floor_s": 17.5, "stage1_s": 57.6, "ratio": 3.3, "step_cpu_s": {"jump": 14.8}}
    record = {"nints": 1779, "ngroups": 100, "workers": 2, "chunk_ints": 16, "runs": [run]}
    record["peak_rss_worker_MB"] = 1016
    path = compare.RESULTS / "2026-12-02-stage1-floor-idle-program2783.json"
    path.write_text(json.dumps(record))
    text = compare.write_docs().read_text()
    assert "| 1 | 17.5 | 57.6 | 3.30 | jump 14.8 |" in text and "1016 MB" in text
    assert "Before (" not in text
    old = {**record, "runs": [{**run, "stage1_s": 63.3, "ratio": 4.83}]}
    (compare.RESULTS / "2026-12-02-stage1-floor-idle-program2783-before-x.json").write_text(
        json.dumps(old)
    )
    text = compare.write_docs().read_text()
    assert "| 1 | 17.5 | 57.6 | 3.30 |" in text  # the newest run stays the table
    assert "Stage 1 63.3–63.3 s, Stage 1 / floor 4.83–4.83." in text


def test_systematics_section(compare):
    metrics = {"chi2_nu": 1.234, "mean_bias_sigma": -0.31, "white_residual_over_expected": 1.05}
    record = {
        "preset": "medium",
        "seed": 7,
        "workers": 2,
        "cases": {
            "glow": {
                "what": "left glow",
                "defaults": {**metrics, "wall_s": 80.0},
                "counter_measure": "stage2 miri_method: slope",
                "counter": {**metrics, "mean_bias_sigma": 0.02, "wall_s": 82.4},
            },
            "none": {"what": "nothing", "defaults": {**metrics, "wall_s": 79.0}},
        },
    }
    (compare.RESULTS / "2026-12-02-systematics-medium.json").write_text(json.dumps(record))
    text = compare.write_docs().read_text()
    assert (
        "| left glow | 1.23 · -0.31 σ · 1.05 | stage2 miri_method: slope | "
        "1.23 · +0.02 σ · 1.05 | +0.00 → +0.33 | 80 → 82 |" in text
    )  # Δ bias: against the case without a systematic
    assert "| nothing | 1.23 · -0.31 σ · 1.05 | — | — | +0.00 | 79 |" in text


def test_targets_section(compare):
    metrics = {"chi2_nu": 2.084, "mean_bias_sigma": 0.511, "white_residual_over_expected": 1.186}
    record = {"preset": "program2783", "seed": 7, "workers": 2}
    record["cases"] = {"all": {"what": "all", "defaults": {**metrics, "wall_s": 187.9}}}
    (compare.RESULTS / "2026-12-02-systematics-program2783.json").write_text(json.dumps(record))
    bins = {"5.1": {"bin_um": 5.125, "error_ppm": 112.3, "published_ppm": 92.8, "ratio": 1.21}}
    row = {"bins": bins, "chi2_nu": 1.352, "mean_bias_sigma": 0.357, "n_channels": 28}
    label = "program2783, every systematic, defaults"
    (compare.RESULTS / "2026-12-02-bin-errors.json").write_text(json.dumps({label: row}))
    variant = {"chi2_nu": 0.868, "mean_bias_sigma": -0.4, "white_residual_over_expected": 1.5}
    variant |= {"changes": {"stage4": {"red_noise": "gp"}}, "stage4_s": 188.2}
    variants = {"date": "2026-12-02", "variants": {"gp": variant}}
    path = compare.RESULTS / "2026-12-02-program2783-all-stage4-variants.json"
    path.write_text(json.dumps(variants))
    offset = {"common_offset_ppm": -100.1, "common_offset_err_ppm": 43.3}
    seeded = {**metrics, "chi2_nu": 1.614, **offset, "chi2_nu_without_offset": 1.394}
    other = {**record, "seed": 8, "cases": {"all": {"what": "all", "defaults": seeded}}}
    path8 = compare.RESULTS / "2026-12-07-systematics-program2783-seed8.json"
    path8.write_text(json.dumps(other))
    text = compare.write_docs().read_text()
    assert "| seed 8 (2026-12-07): χ²ν | 1.61 | ≤ 1.3 |" in text
    assert "| …: common offset | -100 ± 43 ppm | — |" in text
    assert "| …: χ²ν without the common offset | 1.39 | — |" in text
    assert "| stage4 red_noise: gp | 0.87 | -0.40 σ | 1.50 | — | 188 |" in text
    assert "| R = 20 channels: mean bias | +0.51 σ | −0.25 to +0.25 σ |" in text
    assert "| error / published at 5.125 µm | 1.21 | 0.8–1.25 |" in text
    assert "common to" not in text and "seed_pulls" not in text  # no seed-pull results yet
    runs = [
        {
            "seed": seed,
            "common_offset_ppm": off,
            "common_offset_err_ppm": 44.0,
            "common_err_ppm": 125.6,
            "common_offset_pull": off / 133.0,
            "chi2_nu": 0.818,
            "chi2_nu_correlated": 0.71,
            "chi2_nu_without_offset": 0.736,
            "mean_bias_sigma": off / 200,
            "white_residual_over_expected": 1.113,
            "median_depth_err_ppm": 196.5,
            "n_channels": 18,
        }
        for seed, off in ((9, -65.5), (7, 166.0))
    ]
    summary = load_benchmark("seed_pulls").pull_summary(runs)
    path = compare.RESULTS / "2026-12-07-program2783-all-common-error.json"
    path.write_text(json.dumps({"date": "2026-12-07", "runs": runs, **summary}))
    text = compare.write_docs().read_text()
    assert "| 9 | -66 ± 44 | 126 | -0.49 | 0.82 | 0.71 | 0.74 | -0.33 | 1.11 | 196 |" in text
    assert text.index("| 7 | +166") < text.index("| 9 | -66")  # by seed
    assert "Pulls: mean +0.38, standard deviation 1.23 (with the channels' errors alone" in text
    assert "χ²ν with c: median 0.71, mean 0.71, ≤ 1.3 in 2 of 2 (noise alone, 18 channels" in text
    assert "≤ 1.3 in 82 % of observations)." in text
    assert "model_mismatch.py --channels" not in text  # no channel-mismatch results yet
    bias = {"bias_sigma": [0.335, -0.1], "mean_bias_sigma": 0.1175, "mean_bias_ppm": 12.4}
    mismatch = {"seed 8": {"wavelength_um": [5.125, 11.715], "defaults": bias}}
    path = compare.RESULTS / "2026-12-07-channel-mismatch.json"
    path.write_text(json.dumps(mismatch))
    text = compare.write_docs().read_text()
    assert "| variant | mean (σ) | mean (ppm) | 5.1 | 11.7 µm |" in text
    assert "| defaults | +0.12 | +12 | +0.34 | -0.10 |" in text


def test_labelled_results_of_one_day_share_a_file(compare):
    first = compare.append_result("bin-errors", "a", {"x": 1})
    second = compare.append_result("bin-errors", "b", {"x": 2})
    assert first == second and first.parent == compare.RESULTS
    assert json.loads(first.read_text()) == {"a": {"x": 1}, "b": {"x": 2}}
    compare.append_result("bin-errors", "a", {"x": 3})  # a label run again replaces its row
    assert json.loads(first.read_text())["a"] == {"x": 3}


def test_offset_fields_are_copied_when_there(compare):
    m = {"chi2_nu": 2.0, "common_offset_ppm": 175.123456, "chi2_nu_without_offset": 0.93612}
    assert compare.offset_fields(m) == {
        "common_offset_ppm": 175.123,
        "chi2_nu_without_offset": 0.936,
    }
    assert compare.offset_fields({"chi2_nu": 1.0}) == {}


def test_spectra_figure_kept_when_some_of_its_data_are_gone(compare, tmp_path):
    """A figure drawn from every tool's spectrum is not redrawn from only those whose files
    remain (a peer's output deleted to free disk would vanish from it)."""
    from astropy.table import Table

    spectrum = tmp_path / "exolrs.ecsv"
    cols = {"wavelength": [5.0, 6.0], "depth": [0.02, 0.021]}
    Table({**cols, "depth_err_low": [1e-4] * 2, "depth_err_high": [1e-4] * 2}).write(spectrum)
    r = _run("full", 1800, 150.0, 1500.0, 1800)
    r["tools"]["exolrs"]["accuracy"] = {
        **r["tools"]["exolrs"]["accuracy"],
        "spectrum": str(spectrum),
    }
    (compare.DOCS / "figures").mkdir()
    drawn = compare.DOCS / "figures" / "benchmark_spectra_full.png"
    drawn.write_bytes(b"the figure of every tool")
    assert compare._spectra_figure(r) == drawn
    assert drawn.read_bytes() == b"the figure of every tool"
    r["tools"]["exotedrf"]["accuracy"] = r["tools"]["exolrs"]["accuracy"]  # all there: redrawn
    assert compare._spectra_figure(r) == drawn and drawn.read_bytes()[:4] == b"\x89PNG"
