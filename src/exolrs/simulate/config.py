"""Parameters of a simulated MIRI/LRS slitless TSO, and the named presets.

Every number here is a physical or instrumental quantity with a plausible magnitude; the
sources are given next to the fields.  The simulator never imports reduction code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from exolrs.errors import ExolrsError

# SLITLESSPRISM subarray (JWST MIRI docs, "MIRI LRS TSOs"; jwst emicorr subarray table).
NROWS = 416
NCOLS = 72
SUBSTRT1 = 1  # first full-frame column (1-based)
SUBSTRT2 = 529  # first full-frame row (1-based)
FRAMECLOCKS = 15904  # 10-µs pixel clocks per FASTR1 frame: 416 rows × 28 + (1024−416) × 7
ROWCLOCKS = 28
PIXEL_CLOCK_S = 10e-6
TFRAME = FRAMECLOCKS * PIXEL_CLOCK_S  # 0.15904 s, "readout time of 0.159 s"


@dataclass
class PlanetConfig:
    """Transit geometry (defaults: WASP-39b, Faedi et al. 2011; Carter et al. 2024)."""

    period_days: float = 4.05528
    a_rs: float = 11.37
    inc_deg: float = 87.75
    rp_rs: float = 0.1457  # white-light reference radius ratio, depth ≈ 2.12 %
    # "model": rp_rs² plus the features below; "published": the published WASP-39b MIRI/LRS
    # spectrum (Powell et al. 2024), interpolated
    depth_source: str = "model"
    t0_fraction: float = 0.5  # mid-transit as a fraction of the observation
    ecc: float = 0.0
    w_deg: float = 90.0
    # Depth features added to rp_rs**2 (ppm): water slope below 7 µm, a 7.7 µm SO2 band
    # (Powell et al. 2024, Nature 626, 979 saw SO2 at 7.7 µm in WASP-39b with MIRI/LRS).
    so2_ppm: float = 600.0
    so2_center_um: float = 7.7
    so2_width_um: float = 0.35
    water_ppm: float = 350.0
    water_center_um: float = 6.3
    water_width_um: float = 0.5
    slope_ppm_per_um: float = -40.0
    # Quadratic limb darkening at 5 µm and 12 µm, linear in between (weak in the mid-IR).
    u1_5um: float = 0.12
    u1_12um: float = 0.05
    u2_5um: float = 0.10
    u2_12um: float = 0.06


@dataclass
class SystematicsConfig:
    """Astrophysical-time-series systematics and pointing."""

    # Exponential response ramp at the start of the series, flux × (1 + A exp(−t/τ)).
    # Its sign flips in the 10–11 µm "shadowed region" (Bell et al. 2023, 2024; Bouwman et al.
    # 2023 for the MIRI response drifts).
    ramp_amplitude: float = 0.004
    ramp_tau_hours: float = 0.35
    shadow_center_um: float = 10.5
    shadow_width_um: float = 0.35
    shadow_amplitude: float = -0.003  # ramp amplitude at the shadow centre
    linear_ppm_per_hour: float = -60.0
    # Trace position: slow drift (px over the observation) plus white jitter (px rms).
    x_drift_px: float = 0.03
    x_jitter_px: float = 0.008
    y_drift_px: float = 0.04
    y_jitter_px: float = 0.01
    first_int_gain_deficit: float = 0.02  # the anomalous first integration's flux deficit
    # detector settling: fractional flux change of integrations 1, 2, … (program 2783's
    # background exposure: −2.70, −0.75, −0.25, −0.12 %, then flat)
    settling: tuple[float, ...] = ()
    # --- Options whose shape differs from the reduction's model (all off by default). ---
    # The ramp's time constant changes with wavelength: τ(λ) = τ · ratio^((λ − 5 µm) / 7 µm),
    # and a second, slower exponential ramp.
    ramp_tau_ratio_12um: float = 1.0
    second_ramp_amplitude: float = 0.0
    second_ramp_tau_hours: float = 3.0
    # Correlated (red) noise in the stellar flux: AR(1), achromatic, rms per integration and
    # correlation time.
    red_noise_ppm: float = 0.0
    red_noise_tau_minutes: float = 10.0
    # An asymmetric background: a glow on the left of the trace (columns below it), a fraction
    # of the row's stellar flux at 11 µm (scaling as λ⁴), decaying with an e-folding length.
    glow_fraction_11um: float = 0.0
    glow_scale_px: float = 8.0
    # Read noise with heavier tails than Gaussian: Student's t with this many degrees of
    # freedom, scaled to the same rms (0 = Gaussian).
    read_noise_tail_dof: float = 0.0
    # Random-telegraph pixels: a fraction of pixels whose dark current jumps between two
    # levels (+rate when high), staying a geometric number of integrations in each state.
    telegraph_fraction: float = 0.0
    telegraph_rate_dn_s: float = 20.0
    telegraph_dwell_ints: float = 30.0
    # Cosmic-ray showers: per integration on the subarray, a saturating core and an extended
    # halo (amplitude × exp(−r / scale) out to the radius).
    shower_rate_per_int: float = 0.0
    shower_core_dn: float = 40000.0
    shower_halo_dn: float = 300.0
    shower_halo_scale_px: float = 2.0
    shower_radius_px: int = 6
    # The references the reduction gets differ from the simulator's truth: the dark and the
    # linearity's non-linear terms scaled by (1 + this), the flat by (1 + this · N(0, 1))
    # pixel to pixel (a uniform flat scale would cancel in relative photometry).
    reference_error: float = 0.0
    # RSCD whose amplitude depends on the pixel's signal: the fraction of the previous
    # integration's last signal is rscd_fraction · (signal / 10 000 DN)^power (0: linear, as
    # the jwst RSCD model); lengthen `detector.rscd_tau_groups` (≈ 20) for the slow decay.
    rscd_signal_power: float = 0.0


@dataclass
class DetectorConfig:
    """MIRI Si:As detector (Ressler et al. 2015, PASP 127, 675; Rieke et al. 2015)."""

    poisson: bool = True  # photon/dark shot noise on (switch off for noiseless tests)
    gain: float = 5.5  # e-/DN, as in the early MIRI CRDS gain references
    gain_scatter: float = 0.02
    read_noise_dn: float = 6.0  # per single FASTR1 read
    read_noise_scatter: float = 0.05
    bias_dn: float = 11500.0  # pedestal of the first read
    bias_scatter_dn: float = 600.0
    dark_rate_dn_s: float = 0.3
    # Reset anomaly: additive, decays over the first groups; larger in the first integration.
    reset_anomaly_dn: float = 120.0
    reset_anomaly_first_int_dn: float = 250.0
    reset_anomaly_tau_groups: float = 3.0
    # RSCD: later integrations' first groups are pulled by a fraction of the previous
    # integration's last-frame signal (jwst rscd docs), decaying over a few groups.
    rscd_fraction: float = 0.01
    rscd_tau_groups: float = 2.5
    # Non-linearity: corrected = raw + c2 raw² + c3 raw³ (≈ 5 % at 40 000 DN).
    nonlin_c2: float = 1.2e-6
    nonlin_c3: float = 3.0e-12
    nonlin_scatter: float = 0.05
    saturation_dn: float = 58000.0
    saturation_scatter_dn: float = 1500.0
    flat_scatter: float = 0.01
    # The flat reference's stated per-pixel error (its ERR / SCI).  Program 2783's background
    # exposure (realdata x1dints, CRDS jwst_1089) has FLUX_VAR_FLAT implying
    # sqrt(NPIXELS · VAR_FLAT) / FLUX = 0.23 / 0.19 / 0.17 / 0.15 / 0.18 % per pixel at
    # 5.1 / 7.4 / 9.1 / 10.1 / 11.9 µm; the reference written here states 0.2 %, plus, in
    # quadrature, the error `systematics.reference_error` really puts into it.
    flat_stated_error: float = 0.002
    # Bad pixels: fractions of the subarray.
    hot_fraction_known: float = 0.0015  # listed in the MASK reference
    hot_fraction_new: float = 0.0010  # not in the MASK (Stage 2's bad-pixel step must find them)
    hot_rate_dn_s: tuple[float, float] = (30.0, 400.0)
    dead_fraction: float = 0.0005
    # Cosmic rays: ≈ 5 primaries cm⁻² s⁻¹ at L2 × (25 µm)² pixels → ~3e-5 /pixel/s; each hit
    # deposits a log-normal charge and spills ~10 % into the 4 neighbours.
    cr_rate_per_pixel_s: float = 3.0e-5
    cr_median_dn: float = 400.0
    cr_sigma_log: float = 0.8
    cr_neighbour_fraction: float = 0.1
    # ~390 Hz EMI and harmonics, DN amplitude per read (jwst emicorr docs; Bell et al. 2024).
    emi_freqs_hz: tuple[float, ...] = (390.625, 781.25, 1171.875)
    emi_amplitudes_dn: tuple[float, ...] = (3.0, 1.0, 0.5)
    emi_phase_jitter_rad: float = 0.05  # per-integration phase wander


@dataclass
class SceneConfig:
    """Source and background on the detector."""

    target: str = "WASP-39"
    row_rate_6um: float = 2200.0  # DN/s summed over a detector row at 6 µm (out of transit)
    trace_dx: float = 0.0  # px added to the SPECWCS trace column
    background_5um: float = 0.4  # DN/s/pixel
    background_12um: float = 9.0
    background_col_gradient: float = 0.003  # fractional change per column
    # "program2783": star and background calibrated to the real observation (see
    # `calibration`: background from its background exposure, the star from the published
    # per-bin errors); None: `row_rate_6um` and `background_5um/12um` above
    calibration: str | None = None


@dataclass
class SimConfig:
    """One simulated observation."""

    preset: str = "custom"
    nints: int = 60
    ngroups: int = 20
    nints_per_segment: int = 200
    seed: int = 42
    program: str = "09999"
    obs_root: str = "jw09999001001_04103_00001"
    date_obs: str = "2022-07-14T18:17:05.000"
    chunk_ints: int = 8
    planet: PlanetConfig = field(default_factory=PlanetConfig)
    systematics: SystematicsConfig = field(default_factory=SystematicsConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)

    @property
    def int_time_s(self) -> float:
        """Cadence: NGROUPS frames plus the FASTR1 reset frame."""
        return (self.ngroups + 1) * TFRAME

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _compressed_orbit(duration_hours: float) -> PlanetConfig:
    """A transit scaled to fit a short observation: T14 ≈ duration / 3.

    The `small`/`tiny` presets are test geometries: a real hot Jupiter's 2.8 h transit does not
    fit in 33 minutes, so a/R* is raised until the transit occupies the middle third.
    """
    import math

    t14_days = duration_hours / 3.0 / 24.0
    period = 1.0
    b = 0.3
    k = 0.1457
    a_rs = period / (math.pi * t14_days) * math.sqrt((1 + k) ** 2 - b**2)
    inc = math.degrees(math.acos(b / a_rs))
    return PlanetConfig(period_days=period, a_rs=a_rs, inc_deg=inc)


def preset(name: str, seed: int = 42) -> SimConfig:
    """Return the configuration of a named preset (`tiny`, `small`, `medium`, `program2783`)."""
    if name == "program2783":
        # WASP-39b MIRI/LRS, program 2783: 1779 × 100 groups in 9 segments (≈ 10.6 GB).
        return _calibrated(
            SimConfig(
                preset=name,
                nints=1779,
                ngroups=100,
                nints_per_segment=200,
                seed=seed,
                chunk_ints=8,
            )
        )
    if name == "medium":
        # The side-by-side benchmark's middle size: 400 × 100 groups in 2 segments (≈ 2.4 GB).
        cfg = SimConfig(
            preset=name, nints=400, ngroups=100, nints_per_segment=200, seed=seed, chunk_ints=8
        )
    elif name == "small":
        cfg = SimConfig(preset=name, nints=300, ngroups=40, nints_per_segment=100, seed=seed)
    elif name == "tiny":
        cfg = SimConfig(preset=name, nints=24, ngroups=10, nints_per_segment=10, seed=seed)
    else:
        raise ExolrsError(f"unknown simulation preset {name!r}; choose one of {', '.join(PRESETS)}")
    hours = cfg.nints * cfg.int_time_s / 3600.0
    cfg.planet = _compressed_orbit(hours)
    cfg.systematics.ramp_tau_hours = hours / 8.0
    return _calibrated(cfg) if name == "medium" else cfg


def _calibrated(cfg: SimConfig) -> SimConfig:
    """Program 2783's star, background, spectrum and detector settling (the presets with its
    readout: 100 groups, FASTR1)."""
    from exolrs.simulate.calibration import SETTLING_P2783

    cfg.scene.calibration = "program2783"
    cfg.planet.depth_source = "published"
    cfg.systematics.settling = SETTLING_P2783
    cfg.systematics.first_int_gain_deficit = 0.0  # the settling replaces it
    return cfg


PRESETS = ("tiny", "small", "medium", "program2783")


_SECTIONS = ("planet", "systematics", "detector", "scene")
_TOP = ("nints", "ngroups", "nints_per_segment", "seed")


def with_overrides(cfg: SimConfig, overrides: dict, source: str = "the overrides") -> SimConfig:
    """A copy of `cfg` with `overrides` applied: sections (``planet``, ``systematics``,
    ``detector``, ``scene``) of field: value, and the top-level ``nints``, ``ngroups``,
    ``nints_per_segment``, ``seed``.  An unknown key or a value of the wrong type is an
    `ExolrsError` naming it and `source`."""
    out = dataclasses.replace(cfg)
    for key, value in (overrides or {}).items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise ExolrsError(f"{source}: `{key}:` must be a mapping of field: value")
            section = getattr(out, key)
            fields = {f.name for f in dataclasses.fields(section)}
            changes = {}
            for name, v in value.items():
                if name not in fields:
                    raise ExolrsError(
                        f"{source}: unknown key `{key}.{name}`; the keys are "
                        + ", ".join(sorted(fields))
                    )
                changes[name] = _typed(v, getattr(section, name), f"{source}: `{key}.{name}`")
            setattr(out, key, dataclasses.replace(section, **changes))
        elif key in _TOP:
            setattr(out, key, _typed(value, getattr(out, key), f"{source}: `{key}`"))
        else:
            raise ExolrsError(f"{source}: unknown key `{key}`; use {', '.join(_SECTIONS + _TOP)}")
    return out


def _typed(value, current, where: str):
    """`value` as the type of the field's `current` value (int, float, bool, str, tuple)."""
    try:
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise TypeError
            return value
        if isinstance(current, tuple):
            return tuple(float(v) for v in value)
        if isinstance(current, int):
            if isinstance(value, bool) or int(value) != value:
                raise TypeError
            return int(value)
        if isinstance(current, float):
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        return value
    except (TypeError, ValueError):
        raise ExolrsError(
            f"{where} = {value!r} must be {type(current).__name__} like {current!r}"
        ) from None
