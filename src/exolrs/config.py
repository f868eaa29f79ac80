"""One YAML file describes a whole run: validated with pydantic, every default documented.

`load_config(path)` reads and validates a run file; an unknown or bad key raises an
`ExolrsError` naming the key, the line and what is allowed.  `template()` writes the annotated
YAML that `exolrs init-config` prints.  Relative paths in a run file are relative to the file.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from exolrs.errors import ExolrsError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EmiCorrConfig(_Section):
    skip: bool = Field(False, description="Skip the 390 Hz EMI correction.")
    frequencies: list[float] | None = Field(
        None, description="Fundamental EMI frequencies (Hz); null = the EMICORR reference's."
    )
    n_harmonics: int = Field(3, ge=1, le=10, description="Harmonics per frequency, incl. it.")


class Stage1Config(_Section):
    chunk_ints: int = Field(
        16, ge=1, description="Integrations per streamed chunk (memory ∝ chunk_ints × ngroups)."
    )
    hot_pixel_map: Path | None = Field(
        None, description="Extra boolean hot-pixel map (e.g. Stage 2's) flagged in DQInit."
    )
    saturation_threshold: float | None = Field(
        None, gt=0, description="Saturation level in DN overriding the reference; null = ref."
    )
    emicorr: EmiCorrConfig = Field(default_factory=EmiCorrConfig)
    miri_drop_groups: int = Field(
        12, ge=0, description="First N groups marked DO_NOT_USE (RSCD / reset anomaly)."
    )
    flag_up_ramp: bool = Field(False, description="Up-the-ramp two-point-difference jumps.")
    rejection_threshold: float = Field(4.0, gt=0, description="Up-the-ramp threshold (σ).")
    flag_in_time: bool = Field(True, description="Time-domain jump detection across ints.")
    time_rejection_threshold: float = Field(
        10.0, gt=0, description="Time-domain jump threshold (σ); the tutorial uses 7."
    )
    time_window: int = Field(5, ge=3, description="Integrations in the time-domain window.")
    shower_sigma: float | None = Field(
        30.0,
        gt=0,
        description="A time-domain jump deviating by more than this many σ (a large event: a "
        "shower's core) also flags every pixel within shower_radius of it, in the same group "
        "(the shower's faint halo); null = off.",
    )
    shower_radius: float = Field(
        4.0, gt=0, description="Radius (pixels) flagged around a large time-domain jump."
    )
    skip_steps: list[
        Literal["dq_init", "saturation", "emicorr", "reset", "linearity", "dark", "jump"]
    ] = Field([], description="Steps to skip.")


class Stage2Config(_Section):
    skip_steps: list[Literal["flat_field", "background", "badpix", "first_int", "pca"]] = Field(
        [], description="Steps to skip."
    )
    miri_method: Literal["median", "slope"] = Field(
        "slope",
        description="Background per row: a line fitted across the off-trace columns (default: "
        "on the calibrated presets the median left a −1.4 σ (medium) and −0.4 σ (full size) "
        "mean depth bias), or their median (exoTEDRF's default).",
    )
    miri_trace_width: int = Field(20, ge=2, description="Columns around the trace excluded.")
    miri_background_width: int = Field(14, ge=1, description="Background columns each side.")
    space_thresh: float = Field(10.0, gt=0, description="Bad-pixel threshold on the deep frame.")
    time_thresh: float = Field(10.0, gt=0, description="Temporal outlier threshold (σ).")
    telegraph_thresh: float | None = Field(
        8.0,
        gt=0,
        description="Wandering (random-telegraph) pixels: a pixel whose 8-integration means "
        "scatter more than its white noise predicts, by this many standard deviations of "
        "that ratio, is replaced like a hot pixel; null = not searched.",
    )
    baseline_ints: list[int] | None = Field(
        None, description="Out-of-transit integrations: [n] first n, [-n] last n, [a, -b]."
    )
    replace_first_integration: bool = Field(True, description="Replace the first integration.")
    pca_components: int = Field(10, ge=1, description="Principal components computed.")
    remove_components: list[int] | None = Field(
        None, description="Components (1-based) removed from the cube; null = none."
    )


class Stage3Config(_Section):
    extract_method: Literal["box", "optimal"] = Field(
        "optimal",
        description="Extraction: optimal (Horne 1986; the default: on the full-size "
        "simulation its depth errors were 7 % (no systematic) and 14 % (every systematic) "
        "smaller than the box's, and in the published 0.25 µm bins within ×1.09–1.19 of the "
        "published errors, the box's ×1.27–1.33) or box.",
    )
    extract_width: float = Field(6.0, gt=0, description="Aperture width in columns.")
    centroids: Path | None = Field(None, description="User centroids CSV (row, x); null = find.")
    wavelength_range: list[float] = Field(
        [4.5, 14.0], min_length=2, max_length=2, description="Rows kept in the spectra (µm)."
    )
    align: Literal["off", "measure", "resample"] = Field(
        "measure",
        description="Spectral drift: off, measure (detrending vectors), or also resample.",
    )
    align_stretch: bool = Field(
        False,
        description="Also fit a linear stretch (doubles the shift noise when there is none).",
    )


class PlanetConfig(_Section):
    period: float | None = Field(None, gt=0, description="Orbital period (days); required.")
    t0: float | None = Field(None, description="Mid-transit guess (BJD_TDB); null = flux minimum.")
    a: float = Field(10.0, gt=1, description="a/R* guess.")
    b: float = Field(0.4, ge=0, description="Impact parameter guess.")
    rp: float | None = Field(None, gt=0, description="Rp/R* guess; null = from the depth.")
    eclipse: bool = Field(False, description="Fit a secondary eclipse instead of a transit.")
    fixed: list[Literal["t0", "a", "b"]] = Field(
        default_factory=list,
        description="Orbital parameters held at the values above (e.g. a/R* and b from the "
        "literature's many transits) instead of fitted to this white light curve.",
    )

    @model_validator(mode="after")
    def _fixed_t0_is_given(self):
        if "t0" in self.fixed and self.t0 is None:
            raise ValueError("planet.fixed holds t0 but planet.t0 is not given")
        return self


class Stage4Config(_Section):
    planet: PlanetConfig = Field(default_factory=PlanetConfig)
    white_range: list[float] = Field(
        [5.0, 12.0], min_length=2, max_length=2, description="White-light range (µm)."
    )
    binning: Literal["R", "width", "native", "edges"] = Field(
        "R", description="Channels: constant R, fixed width, native rows or user edges."
    )
    resolution: float = Field(20.0, gt=0, description="λ/Δλ for binning: R.")
    bin_width: float = Field(0.25, gt=0, description="µm for binning: width.")
    bin_edges: list[float] | None = Field(None, description="µm for binning: edges.")
    drop_first: int = Field(5, ge=0, description="Integrations left out at the start.")
    n_ramps: int = Field(1, ge=0, le=2, description="Exponential ramps in the systematics.")
    poly_order: int = Field(1, ge=0, le=2, description="Polynomial order in time.")
    detrend: list[str] = Field(
        [], description="Detrending vectors: x_shift, y_shift, stretch, pca_1, pca_2 …"
    )
    limb_darkening: Literal["fit", "fixed", "table"] = Field(
        "fit", description="Fit (Kipping priors), fixed u1/u2, or a per-wavelength table."
    )
    u1: float = Field(0.1, description="Fixed quadratic LD u1.")
    u2: float = Field(0.1, description="Fixed quadratic LD u2.")
    ld_table: Path | None = Field(None, description="Table with wavelength, u1, u2 columns.")
    spec_free_tau: bool = Field(False, description="Free ramp timescale per channel.")
    tau_bands: list[float] | None = Field(
        None,
        description="Edges (µm) of broad bands whose ramp time scales are fitted (least "
        "squares, the orbit fixed to the white fit's) and interpolated in wavelength to the "
        "channels, instead of the white light's (e.g. [5, 6, 7, 8, 9, 10, 11, 12]).",
    )
    common_slow_ramp: bool | Literal["auto"] = Field(
        "auto",
        description="Fit the white light with one more, slower ramp and divide it out of "
        "every channel, as the same fraction of the flux at every wavelength (the channels "
        "keep n_ramps; n_ramps ≤ 1).  auto: unless the white fit with it is no better or "
        "its split is not physical (coefficients out of range: the ramps trade against the "
        "polynomial); off with n_ramps 2.  true: always (an error where not physical).",
    )
    sampler: Literal["de", "emcee", "dynesty"] = Field(
        "de",
        description="de: ensemble MCMC, channels in lockstep (fast); emcee: one emcee run per "
        "light curve; dynesty: nested sampling, with the evidence.",
    )
    min_autocorr: float = Field(
        50.0, gt=0, description="Sampling stops once the kept chain is this many τ long."
    )
    n_steps_white: int = Field(
        20000, ge=100, description="Most steps, white light curve (it stops at min_autocorr)."
    )
    n_steps_spec: int = Field(
        10000, ge=100, description="Most steps per channel (it stops at min_autocorr)."
    )
    flat_error: bool = Field(
        True,
        description="Add the flat's static error to each depth's error, in quadrature: its "
        "pixel errors times the background under the trace leave an offset that dilutes the "
        "transit (Stage 3's Static Err; depth × offset / flux).",
    )
    red_noise: Literal["auto", "gp", "beta", "none"] = Field(
        "auto",
        description="gp: a Gaussian process (exponential kernel) for correlated noise, its "
        "amplitude and time scale sampled; auto: gp where it improves the likelihood, white "
        "noise elsewhere; beta: widen errors by the residuals' time-averaging β; none: white.",
    )
    seed: int = Field(0, description="Random seed of the samplers.")

    @model_validator(mode="after")
    def _tau_bands_usable(self):
        b = self.tau_bands
        if b is None:
            return self
        if len(b) < 3 or any(hi <= lo for lo, hi in itertools.pairwise(b)):
            raise ValueError("tau_bands: give at least 3 increasing edges (µm): 2 bands or more")
        if self.spec_free_tau:
            raise ValueError("tau_bands and spec_free_tau both set each channel's τ: give one")
        if self.n_ramps < 1:
            raise ValueError("tau_bands needs a ramp: n_ramps ≥ 1")
        return self

    @model_validator(mode="after")
    def _slow_ramp_fits(self):
        if self.common_slow_ramp is True and self.n_ramps > 1:
            raise ValueError(
                "common_slow_ramp adds a ramp to the white fit's n_ramps, which allows 2: "
                "give n_ramps: 0 or 1"
            )
        return self


class ParallelConfig(_Section):
    backend: Literal["serial", "processes", "dask"] = Field(
        "processes", description="serial, local processes, or a dask.distributed cluster."
    )
    workers: int = Field(2, ge=1, description="Processes (or dask workers for a local cluster).")
    scheduler: str | None = Field(
        None, description="dask scheduler address (tcp://host:port); null = start a local one."
    )


class RunConfig(_Section):
    target: str = Field("target", description="Target name, used in output file names.")
    input: str | list[str] = Field(
        ..., description="uncal segments: a glob, a directory, or a list of files."
    )
    output_dir: Path = Field(Path("reduction"), description="Where products are written.")
    references: dict[str, Path] = Field(
        {}, description="Reference-file overrides by reftype (mask, dark, …); else CRDS."
    )
    crds_path: Path | None = Field(None, description="Local CRDS cache (default $CRDS_PATH).")
    truth: Path | None = Field(None, description="Injected truth (simulations only).")
    parallel: ParallelConfig = Field(default_factory=ParallelConfig)
    stage1: Stage1Config = Field(default_factory=Stage1Config)
    stage2: Stage2Config = Field(default_factory=Stage2Config)
    stage3: Stage3Config = Field(default_factory=Stage3Config)
    stage4: Stage4Config = Field(default_factory=Stage4Config)


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """1-based line of every mapping key path in a YAML document."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                p = (*path, str(key.value))
                lines[p] = key.start_mark.line + 1
                walk(value, p)

    try:
        walk(yaml.compose(text), ())
    except yaml.YAMLError:
        pass
    return lines


def _resolve_paths(cfg: RunConfig, base: Path) -> RunConfig:
    def fix(p: Path | None) -> Path | None:
        if p is None or p.is_absolute():
            return p
        return base / p

    cfg.output_dir = fix(cfg.output_dir)
    cfg.references = {k: fix(v) for k, v in cfg.references.items()}
    cfg.crds_path = fix(cfg.crds_path)
    cfg.truth = fix(cfg.truth)
    cfg.stage1.hot_pixel_map = fix(cfg.stage1.hot_pixel_map)
    cfg.stage3.centroids = fix(cfg.stage3.centroids)
    cfg.stage4.ld_table = fix(cfg.stage4.ld_table)
    if isinstance(cfg.input, str):
        cfg.input = cfg.input if Path(cfg.input).is_absolute() else str(base / cfg.input)
    else:
        cfg.input = [s if Path(s).is_absolute() else str(base / s) for s in cfg.input]
    return cfg


def read_yaml_mapping(path, what: str, missing: str, mapping: str) -> tuple[str, dict]:
    """(text, mapping) of the YAML file `path`, or an ExolrsError that names it as `what`:
    not found (with the hint `missing`), unreadable, not YAML, or not `mapping`."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ExolrsError(f"{what} {path} not found; {missing}") from None
    except OSError as exc:
        raise ExolrsError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ExolrsError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ExolrsError(f"{path} must be {mapping}")
    return text, raw


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a run file; relative paths become relative to the file."""
    path = Path(path)
    text, raw = read_yaml_mapping(
        path,
        "run file",
        f"create one with `exolrs init-config {path}`",
        "a YAML mapping of keys (see `exolrs init-config`)",
    )
    try:
        cfg = RunConfig.model_validate(raw)
    except ValidationError as exc:
        lines = _key_lines(text)
        msgs = []
        for e in exc.errors():
            loc = tuple(str(x) for x in e["loc"])
            line = next((lines[loc[:k]] for k in range(len(loc), 0, -1) if loc[:k] in lines), None)
            where = f"line {line}, " if line else ""
            key = ".".join(loc)
            if e["type"] == "extra_forbidden":
                parent = RunConfig
                for part in loc[:-1]:
                    field = parent.model_fields.get(part)
                    ann = getattr(field, "annotation", None)
                    if isinstance(ann, type) and issubclass(ann, BaseModel):
                        parent = ann
                allowed = ", ".join(parent.model_fields)
                msgs.append(f"{where}unknown key '{key}' (allowed here: {allowed})")
            elif e["type"] == "missing":
                msgs.append(f"missing required key '{key}'")
            else:
                msgs.append(f"{where}'{key}': {e['msg']} (got {e.get('input')!r})")
        raise ExolrsError(f"{path}: " + "; ".join(msgs)) from None
    return _resolve_paths(cfg, path.parent)


def template() -> str:
    """Annotated YAML listing every key, its default and its meaning."""
    out = ["# exolrs run file — every key with its default.  Paths are relative to this file."]

    def emit(model: type[BaseModel], indent: int) -> None:
        pad = "  " * indent
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                out.append(
                    f"{pad}{name}:" + (f"  # {field.description}" if field.description else "")
                )
                emit(ann, indent + 1)
                continue
            default = (
                "<required>"
                if field.is_required()
                else field.get_default(call_default_factory=True)
            )
            value = yaml.safe_dump(
                str(default) if isinstance(default, Path) else default,
                default_flow_style=True,
            ).strip()
            value = value.removesuffix("\n...").removesuffix("...").strip()
            if field.is_required():
                value = "uncal/*_uncal.fits"
            out.append(f"{pad}{name}: {value}  # {field.description}")

    emit(RunConfig, 0)
    return "\n".join(out) + "\n"
