"""`simulate_tso`: a MIRI/LRS slitless TSO with known truth, written like a MAST download.

Output directory layout::

    OUTDIR/uncal/<root>-segNNN_mirimage_uncal.fits   level-1b segments
    OUTDIR/refs/                                     CRDS-format references for this detector
    OUTDIR/truth.ecsv, truth_rows.ecsv, truth.json   what was injected
    OUTDIR/truth_cosmic_rays.ecsv, truth_pointing.ecsv
    OUTDIR/exolrs.yaml                               a ready run file

Integrations are generated in chunks (optionally in worker processes) and streamed into the
segment files, so memory does not grow with the number of integrations.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from astropy.table import Table

from exolrs.simulate import scene
from exolrs.simulate.config import NROWS, TFRAME, SimConfig, preset
from exolrs.simulate.detector import (
    DetectorMaps,
    dark_ramp,
    make_detector,
    simulate_ramps,
    telegraph_states,
)
from exolrs.simulate.uncal import (
    UncalSegmentWriter,
    integration_times,
    primary_header,
    segment_bounds,
    segment_times,
)


class _Model:
    """Everything needed to generate any integration, picklable for worker processes."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.maps: DetectorMaps = make_detector(cfg, np.random.default_rng([cfg.seed, 1]))
        self.times = integration_times(cfg)
        self.dx, self.dy = scene.pointing(cfg.nints, cfg, np.random.default_rng([cfg.seed, 2]))
        rows = np.arange(NROWS, dtype=np.float64)
        self.row_lambda = scene.wavelength_of_row(rows)
        t_mid = self.times["int_mid_BJD_TDB"]
        lam = np.clip(self.row_lambda, 4.0, 16.0)
        hours = (t_mid - t_mid[0]) * 24.0
        self.transit = scene.transit_light_curves(t_mid, lam, cfg)
        self.lc = self.transit * scene.systematic_ramp(hours, lam, cfg)
        self.lc[0] *= 1.0 - cfg.systematics.first_int_gain_deficit
        for k, f in enumerate(cfg.systematics.settling[: cfg.nints]):  # detector settling
            self.lc[k] *= 1.0 + f
        rng = np.random.default_rng([cfg.seed, 4])
        self.red_noise = scene.red_noise(cfg.nints, cfg.int_time_s, cfg, rng)
        self.lc *= 1.0 + self.red_noise[:, None]
        self.background = (scene.background_rate(cfg) + scene.glow_rate(cfg)).astype(np.float32)
        self.telegraph = telegraph_states(cfg.nints, cfg, np.random.default_rng([cfg.seed, 5]))

    def rate(self, start: int, stop: int) -> np.ndarray:
        """Detected rate (n, y, x) DN/s of integrations [start, stop), flat applied."""
        star = scene.star_rate_cube(
            self.lc[start:stop], self.dx[start:stop], self.dy[start:stop], self.cfg
        )
        rate = (star + self.background[None]) * self.maps.flat[None]
        ys, xs, states = self.telegraph
        if len(ys):  # telegraph pixels: extra dark current while high
            extra = self.cfg.systematics.telegraph_rate_dn_s * states[start:stop]
            rate[:, ys, xs] += extra.astype(np.float32)
        return rate

    def chunk(self, start: int, stop: int) -> tuple[np.ndarray, list]:
        rng = np.random.default_rng([self.cfg.seed, 3, start])
        prev = self.rate(start - 1, start)[0] if start > 0 else None
        return simulate_ramps(self.rate(start, stop), prev, start, self.maps, self.cfg, rng)


_WORKER_MODEL: _Model | None = None


def _init_worker(model: _Model) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = model


def _work(bounds: tuple[int, int]) -> tuple[np.ndarray, list]:
    assert _WORKER_MODEL is not None
    return _WORKER_MODEL.chunk(*bounds)


def _chunks(cfg: SimConfig) -> list[tuple[int, int, int]]:
    """(segment index, start, stop) of every generation chunk, never crossing a segment."""
    out = []
    for seg, (s0, s1) in enumerate(segment_bounds(cfg.nints, cfg.nints_per_segment)):
        for c0 in range(s0, s1, cfg.chunk_ints):
            out.append((seg, c0, min(c0 + cfg.chunk_ints, s1)))
    return out


def simulate_tso(
    outdir: str | os.PathLike,
    preset_name: str | None = "small",
    *,
    seed: int = 42,
    config: SimConfig | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Simulate a MIRI/LRS slitless TSO and write it as MAST-like uncal segments.

    Parameters
    ----------
    outdir : output directory (created).
    preset_name : ``tiny``, ``small``, ``medium`` or ``program2783``; ignored when `config`
        is given.
    seed : random seed; the same seed gives the same files.
    config : a full `SimConfig` instead of a preset.
    workers : processes generating chunks in parallel (1 = in this process).
    progress : optional callback ``progress(done_integrations, total)``.

    Returns
    -------
    dict with the paths written (``uncal`` list, ``refs`` dict, ``truth``, ``config``) and
    the generation time.
    """
    cfg = config if config is not None else preset(preset_name, seed=seed)
    out = Path(outdir)
    (out / "uncal").mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    model = _Model(cfg)
    refs = write_references(out / "refs", model)
    bounds = segment_bounds(cfg.nints, cfg.nints_per_segment)
    nseg = len(bounds)
    chunks = _chunks(cfg)
    hits: list = []
    paths: list[Path] = []
    done = 0
    if workers > 1:
        pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(model,))
        submit = lambda b: pool.submit(_work, b)  # noqa: E731
    else:
        pool = None
        submit = None
    try:
        pending: deque = deque()
        it = iter(chunks)

        def fill() -> None:
            while pool is not None and len(pending) < 2 * workers:
                nxt = next(it, None)
                if nxt is None:
                    return
                pending.append((nxt, submit(nxt[1:])))

        fill()
        for seg, (s0, s1) in enumerate(bounds):
            name = f"{cfg.obs_root}-seg{seg + 1:03d}_mirimage_uncal.fits"
            header = primary_header(cfg, seg + 1, nseg, s0, s1, model.times)
            with UncalSegmentWriter(
                out / "uncal" / name,
                header,
                s1 - s0,
                cfg.ngroups,
                segment_times(model.times, s0, s1),
            ) as writer:
                for cseg, c0, c1 in [c for c in chunks if c[0] == seg]:
                    if pool is None:
                        ramps, chunk_hits = model.chunk(c0, c1)
                    else:
                        meta, fut = pending.popleft()
                        assert meta == (cseg, c0, c1)
                        ramps, chunk_hits = fut.result()
                        fill()
                    writer.write(ramps)
                    hits.extend(chunk_hits)
                    done += c1 - c0
                    if progress:
                        progress(done, cfg.nints)
            paths.append(out / "uncal" / name)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    truth = write_truth(out, model, hits)
    elapsed = time.perf_counter() - t_start
    cfg_path = write_run_file(out, cfg, refs)
    return {
        "uncal": paths,
        "refs": refs,
        "truth": truth,
        "config": cfg_path,
        "seconds": elapsed,
        "nints": cfg.nints,
        "ngroups": cfg.ngroups,
    }


def reference_arrays(model: _Model) -> dict:
    """The arrays behind every reference file, from the simulated detector's truth."""
    from stdatamodels.jwst.datamodels.dqflags import pixel as flags

    m, cfg = model.maps, model.cfg
    mask = np.zeros(m.gain.shape, np.uint32)
    mask[m.hot_known] |= flags["HOT"] | flags["DO_NOT_USE"]
    mask[m.dead] |= flags["DEAD"] | flags["DO_NOT_USE"]
    d = cfg.detector
    period = 1.0 / d.emi_freqs_hz[0]
    phase = np.linspace(0.0, 1.0, 500, endpoint=False)
    wave = sum(
        a * np.sin(2 * np.pi * (f * period) * phase + ph)
        for f, a, ph in zip(d.emi_freqs_hz, d.emi_amplitudes_dn, m.emi_phase, strict=True)
    )
    err = cfg.systematics.reference_error
    nonlin, flat, dark_scale = m.nonlin, m.flat, np.float32(1.0 + err)
    if err:  # the reduction never gets the simulator's exact references
        nonlin = m.nonlin.copy()
        nonlin[2:] *= 1.0 + err
        noise = np.random.default_rng([cfg.seed, 6]).standard_normal(m.flat.shape)
        flat = (m.flat * (1.0 + err * noise)).astype(np.float32)
    return {
        "mask": mask,
        "saturation": m.saturation,
        "linearity": nonlin,
        # the dark reference predates the "new" hot pixels: they are for BadPix to find
        "dark": dark_ramp(
            dataclasses.replace(
                m, dark_rate=np.where(m.hot_new, d.dark_rate_dn_s, m.dark_rate).astype(np.float32)
            ),
            cfg.ngroups,
            cfg,
        ).astype(np.float32)
        * dark_scale,
        "gain": m.gain,
        # JWST READNOISE references hold the noise of a correlated double sample (the
        # difference of two reads); stcal divides by sqrt(2) for the per-read noise.
        "readnoise": (m.read_noise * np.sqrt(2.0)).astype(np.float32),
        "reset": np.zeros((2, cfg.ngroups, *m.gain.shape), np.float32),
        "flat": flat,
        "flat_err": (flat * np.hypot(d.flat_stated_error, err)).astype(np.float32),
        "specwcs": scene.lrs_geometry(),
        "emicorr": {"Hz390": (d.emi_freqs_hz[0], wave.astype(np.float32))},
    }


def write_references(refdir: Path, model: _Model) -> dict[str, Path]:
    """Write the CRDS-format reference set matching the simulated detector."""
    from exolrs.simulate.reffiles import write_reference_set

    return write_reference_set(refdir, reference_arrays(model))


def _write_table(table: Table, path: Path) -> None:
    tmp = path.with_name(path.name + ".part")
    table.write(tmp, format="ascii.ecsv", overwrite=True)
    os.replace(tmp, path)


def write_truth(out: Path, model: _Model, hits: list) -> Path:
    """Write truth.ecsv (fine grid), truth_rows.ecsv, truth_pointing.ecsv,
    truth_cosmic_rays.ecsv and truth.json."""
    cfg, m = model.cfg, model.maps
    lam = np.arange(4.5, 14.0 + 1e-9, 0.005)
    rows_of_lam = scene.row_of_wavelength(lam)
    u1, u2 = scene.limb_darkening(lam, cfg)
    fine = Table()
    fine["wavelength"] = lam
    fine["wavelength"].unit = "micron"
    fine["depth"] = scene.depth_spectrum(lam, cfg)
    fine["stellar_flux"] = scene.star_rate(rows_of_lam, cfg) / scene.dispersion(rows_of_lam)
    fine["stellar_flux"].unit = "adu / (s micron)"
    fine["u1"], fine["u2"] = u1, u2
    fine.meta["comment"] = "depth = (Rp/R*)^2; stellar_flux = detected rate before flat field"
    _write_table(fine, out / "truth.ecsv")
    ld = Table({"wavelength": lam[::10], "u1": u1[::10], "u2": u2[::10]})
    ld["wavelength"].unit = "micron"
    ld.meta["comment"] = (
        "quadratic limb darkening of the simulated star, as a stellar-model table "
        "(e.g. ExoTiC-LD) gives it for a real star"
    )
    _write_table(ld, out / "star_limb_darkening.ecsv")

    rows = np.arange(NROWS, dtype=np.float64)
    sigma = scene.psf_sigma(model.row_lambda)
    prof = scene.cross_profile(scene.trace_center(rows, cfg)[None], sigma)[0]
    per_row = Table()
    per_row["row"] = rows.astype(int)
    per_row["wavelength"] = model.row_lambda
    per_row["depth"] = scene.depth_spectrum(model.row_lambda, cfg)
    per_row["star_rate"] = scene.star_rate(rows, cfg)
    per_row["subarray_fraction"] = prof.sum(axis=1)
    per_row["trace_x"] = scene.trace_center(rows, cfg)
    per_row["psf_sigma"] = sigma
    per_row["background"] = model.background.mean(axis=1)
    _write_table(per_row, out / "truth_rows.ecsv")

    pt = Table()
    pt["integration"] = np.arange(1, cfg.nints + 1)
    pt["bjd_tdb_mid"] = model.times["int_mid_BJD_TDB"]
    pt["dx"], pt["dy"] = model.dx, model.dy
    white = (model.row_lambda >= 5) & (model.row_lambda <= 12)
    weights = scene.star_rate(rows, cfg)[white]
    pt["transit_white"] = model.transit[:, white] @ weights / weights.sum()
    pt["systematics_white"] = (model.lc / model.transit)[:, white] @ weights / weights.sum()
    pt["red_noise"] = model.red_noise  # included in systematics_white
    _write_table(pt, out / "truth_pointing.ecsv")

    cr = Table(
        rows=hits or np.zeros((0, 5)),
        names=("integration", "group", "row", "col", "amplitude"),
        dtype=(int, int, int, int, float),
    )
    cr.meta["comment"] = "0-based integration and group (first read containing the hit)"
    _write_table(cr, out / "truth_cosmic_rays.ecsv")

    t = model.times["int_mid_BJD_TDB"]
    p = cfg.planet
    info = {
        "preset": cfg.preset,
        "seed": cfg.seed,
        "nints": cfg.nints,
        "ngroups": cfg.ngroups,
        "tframe_s": TFRAME,
        "cadence_s": cfg.int_time_s,
        "orbit": {
            "t0_bjd_tdb": float(t[0] + p.t0_fraction * (t[-1] - t[0])),
            "period_days": p.period_days,
            "a_rs": p.a_rs,
            "inc_deg": p.inc_deg,
            "b": float(p.a_rs * np.cos(np.radians(p.inc_deg))),
            "rp_rs_reference": p.rp_rs,
            "ecc": p.ecc,
        },
        "white_depth_5_12um": float(
            np.sum(scene.depth_spectrum(model.row_lambda[white], cfg) * weights) / weights.sum()
        ),
        "noise": {
            "read_noise_dn_median": float(np.median(m.read_noise)),
            "gain_e_per_dn_median": float(np.median(m.gain)),
            "dark_rate_dn_s": cfg.detector.dark_rate_dn_s,
            "poisson": "Gaussian approximation of each frame's Poisson increment",
        },
        "hot_pixels_known": np.argwhere(m.hot_known).tolist(),
        "hot_pixels_new": np.argwhere(m.hot_new).tolist(),
        "dead_pixels": np.argwhere(m.dead).tolist(),
        "telegraph_pixels": np.stack(model.telegraph[:2], axis=1).tolist(),
        "n_cosmic_rays": len(hits),
        "config": cfg.to_dict(),
    }
    path = out / "truth.json"
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(info, indent=1, default=float))
    os.replace(tmp, path)
    return path


def write_run_file(out: Path, cfg: SimConfig, refs: dict[str, Path]) -> Path:
    """A ready `exolrs.yaml` for reducing this simulation (paths relative to the file)."""
    lines = [
        f"# exolrs run file for a simulated {cfg.preset} observation (seed {cfg.seed}).",
        "# Paths are relative to this file.  `exolrs init-config` documents every key.",
        f"target: {cfg.scene.target}",
        "input: uncal/*_uncal.fits",
        "output_dir: reduction",
        "references:",
    ]
    lines += [f"  {k}: {Path(v).relative_to(out).as_posix()}" for k, v in sorted(refs.items())]
    p = cfg.planet
    lines += [
        "truth: truth.ecsv",
        "stage4:",
        "  planet:",
        f"    period: {p.period_days}",
        f"    a: {round(p.a_rs, 1)}   # a/R* guess (a literature value for a real planet)",
        "    b: 0.4",
        "  detrend: [x_shift, y_shift]   # trace position from Stage 3 (pointing jitter)",
        "  # limb darkening is fitted per channel; the star's own law is in",
        "  # star_limb_darkening.ecsv (limb_darkening: table, ld_table: star_limb_darkening.ecsv)",
        "stage1:",
        f"  miri_drop_groups: {min(12, max(cfg.ngroups // 4, 1))}",
        "  flag_up_ramp: false",
        "  flag_in_time: true",
        "  time_rejection_threshold: 7",
    ]
    path = out / "exolrs.yaml"
    tmp = path.with_name(path.name + ".part")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path
