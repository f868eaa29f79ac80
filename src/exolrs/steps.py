"""Notebook API mirroring the exoTEDRF tutorial: one class per step.

    from exolrs import stage1
    result = stage1.DQInitStep(files, output_dir="Stage1").run(save_results=True)
    result = stage1.SaturationStep(result, output_dir="Stage1").run()
    ...
    rateints = stage1.RampFitStep(result, output_dir="Stage1").run()

A step takes file names or the in-memory products of the previous step, applies the pure
function of its module to each segment, and returns the products (saved under the tutorial's
suffixes when `save_results=True`; a finished output is reused unless `force_redo=True`).
Step by step, a whole segment of ramps is held in memory; `stage1.run_stage1` is the fused,
streamed path for full-size data.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from astropy.io import fits

from exolrs.errors import ExolrsError

log = logging.getLogger(__name__)


@dataclass
class RampProduct:
    """One segment's ramps between Stage 1 steps (the RampModel layout, in memory)."""

    data: np.ndarray  # (nints, ngroups, ny, nx) float32
    groupdq: np.ndarray  # uint8
    pixeldq: np.ndarray  # (ny, nx) uint32
    header: fits.Header
    int_times: np.ndarray | None
    name: str  # root name, e.g. jw..._00001-seg001_mirimage
    int_start: int = 0  # absolute index of the first integration
    nints_total: int = 0
    history: list[str] = field(default_factory=list)

    def save(self, path: Path) -> Path:
        from exolrs.io.products import atomic_write

        h = self.header.copy()
        h["DATAMODL"] = "RampModel"
        h["FILENAME"] = path.name
        h["S_STEPS"] = ",".join(self.history)[-68:]
        hdus = [
            fits.PrimaryHDU(header=h),
            fits.ImageHDU(self.data.astype(np.float32), name="SCI"),
            fits.ImageHDU(self.pixeldq.astype(np.uint32), name="PIXELDQ"),
            fits.ImageHDU(self.groupdq.astype(np.uint8), name="GROUPDQ"),
        ]
        if self.int_times is not None:
            hdus.append(fits.BinTableHDU(self.int_times, name="INT_TIMES"))
        return atomic_write(fits.HDUList(hdus), path)


def load_ramps(inputs) -> list[RampProduct]:
    """Uncal segments or saved step outputs (paths), or products, as `RampProduct`s."""
    if isinstance(inputs, RampProduct):
        return [inputs]
    if isinstance(inputs, str | os.PathLike):
        inputs = [inputs]
    inputs = list(inputs)
    if inputs and all(isinstance(x, RampProduct) for x in inputs):
        return inputs
    paths = [Path(p) for p in inputs]
    if paths and all(p.name.endswith("_uncal.fits") for p in paths):
        return _from_uncal(paths)
    return [_from_step_file(p) for p in paths]


def _from_uncal(paths) -> list[RampProduct]:
    from exolrs.io.chunks import read_integrations, read_pixeldq
    from exolrs.io.segments import discover_segments

    exp = discover_segments(paths)
    pixeldq = read_pixeldq(exp)
    out = []
    for seg in exp.segments:
        data, gdq = read_integrations(exp, seg.start, seg.stop)
        root = seg.path.name.removesuffix("_uncal.fits")
        out.append(
            RampProduct(
                data,
                gdq,
                pixeldq.copy(),
                seg.header.copy(),
                seg.int_times,
                root,
                seg.start,
                exp.nints,
            )
        )
    return out


def _from_step_file(path: Path) -> RampProduct:
    if not path.is_file():
        raise ExolrsError(f"input not found: {path}")
    try:
        with fits.open(path, memmap=False) as hdul:
            h = hdul[0].header.copy()
            times = np.asarray(hdul["INT_TIMES"].data).copy() if "INT_TIMES" in hdul else None
            name = path.name.rsplit("_", 1)[0]
            return RampProduct(
                np.asarray(hdul["SCI"].data, np.float32),
                np.asarray(hdul["GROUPDQ"].data, np.uint8),
                np.asarray(hdul["PIXELDQ"].data, np.uint32),
                h,
                times,
                name,
                int(h.get("INTSTART", 1)) - 1,
                int(h.get("NINTS", 0)),
                [s for s in str(h.get("S_STEPS", "")).split(",") if s],
            )
    except (OSError, KeyError) as exc:
        raise ExolrsError(
            f"{path} is not a Stage 1 step product ({exc}); pass *_uncal.fits or the output "
            "of the previous step"
        ) from None


class Step:
    """Base of the tutorial-style steps: subclasses set `suffix` and implement `apply`."""

    suffix = ""
    name = ""
    history_name = ""  # recorded in each product's history

    def __init__(self, input_data, output_dir: str | os.PathLike | None = None, **kwargs):
        self.input_data = input_data
        self.output_dir = Path(output_dir) if output_dir is not None else Path(".")
        self.kwargs = kwargs

    def output_path(self, product: RampProduct) -> Path:
        return self.output_dir / f"{product.name}_{self.suffix}.fits"

    def run(
        self, save_results: bool = True, force_redo: bool = False, do_plot: bool = False, **params
    ):
        """Apply the step to every segment; returns the products (list, segment order)."""
        inputs = self.input_data
        if not force_redo and save_results and _names(inputs):
            expected = [self.output_dir / f"{n}_{self.suffix}.fits" for n in _names(inputs)]
            if all(p.exists() for p in expected):
                log.info("%s: outputs exist, reusing them (force_redo=True recomputes)", self.name)
                return self.reuse(expected)
        products = load_ramps(inputs)
        results = self.apply(products, **{**self.kwargs, **params})
        if save_results:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            for r in results:
                self.save(r)
        if do_plot:
            self.figures = self.plot(products, results)
        return results

    def plot(self, inputs: list[RampProduct], results) -> list[Path]:
        """Diagnostic figures of the step (PNG in output_dir); none by default."""
        return []

    def figure_path(self, product: RampProduct, what: str) -> Path:
        return self.output_dir / f"{product.name}_{self.suffix}_{what}.png"

    def reuse(self, paths):
        return load_ramps(paths)

    def save(self, product):
        return product.save(self.output_path(product))

    def apply(self, products: list[RampProduct], **params):
        """Apply `apply_one` to every segment with the exposure's Stage 1 references (resolved
        once: the segments of one exposure share them)."""
        kw = _refs_kw(params)
        refs = _stage1_refs(products[0], **kw) if self.needs_refs(params) else None
        return [
            replace(p, **self.apply_one(p, refs, **params), history=[*p.history, self.history_name])
            for p in products
        ]

    def needs_refs(self, params: dict) -> bool:
        return True

    def apply_one(self, p: RampProduct, refs, **params) -> dict:  # pragma: no cover - abstract
        """The changed fields of one segment's product."""
        raise NotImplementedError


def _names(inputs) -> list[str] | None:
    """Root names of the inputs when they are files (for the force_redo check)."""
    if isinstance(inputs, str | os.PathLike):
        inputs = [inputs]
    try:
        items = list(inputs)
    except TypeError:
        return None
    if not items or not all(isinstance(x, str | os.PathLike) for x in items):
        return [x.name for x in items] if all(isinstance(x, RampProduct) for x in items) else None
    return [Path(x).name.rsplit("_", 1)[0] for x in items]


def _stage1_refs(product: RampProduct, references=None, crds_path=None):
    from exolrs.run import load_stage1_refs, resolve_stage1_refs

    header = dict(product.header)
    refset = resolve_stage1_refs(header, references, crds_path)
    return load_stage1_refs(refset.paths, header)


def _refs_kw(params: dict) -> dict:
    return {
        "references": params.pop("references", None),
        "crds_path": params.pop("crds_path", None),
    }


def _plot_dq(step: Step, results) -> list[Path]:
    from exolrs.plots.stage1 import plot_dq_map

    return [plot_dq_map(r.pixeldq, r.groupdq, step.figure_path(r, "dq")) for r in results[:1]]


class DQInitStep(Step):
    """Static mask, optional hot-pixel map, first/last group DO_NOT_USE."""

    suffix, name, history_name = "dqinitstep", "DQInit", "dq_init"

    def apply(self, products, hot_pixel_map=None, **params):
        from exolrs.io.products import read_hot_pixel_map

        if isinstance(hot_pixel_map, str | Path):
            hot_pixel_map = read_hot_pixel_map(hot_pixel_map)
        return super().apply(products, hot_pixel_map=hot_pixel_map, **params)

    def apply_one(self, p, refs, hot_pixel_map=None):
        from exolrs.stage1.dq_init import init_dq

        pdq, gdq = init_dq(p.groupdq, refs.mask, pixeldq=p.pixeldq, hot_pixel_map=hot_pixel_map)
        return {"pixeldq": pdq, "groupdq": gdq}

    def plot(self, inputs, results):
        return _plot_dq(self, results)


class SaturationStep(Step):
    """Flag saturated groups (reference, or `saturation_threshold` in DN)."""

    suffix, name, history_name = "saturationstep", "Saturation", "saturation"

    def apply_one(self, p, refs, saturation_threshold=None):
        from exolrs.stage1.saturation import flag_saturation

        gdq, pdq = flag_saturation(
            p.data,
            p.groupdq,
            p.pixeldq,
            refs.saturation,
            refs.saturation_dq,
            saturation_threshold=saturation_threshold,
        )
        return {"groupdq": gdq, "pixeldq": pdq}

    def plot(self, inputs, results):
        return _plot_dq(self, results)


class EmiCorrStep(Step):
    """Fit and remove the 390 Hz EMI and harmonics per integration."""

    suffix, name, history_name = "emicorrstep", "EmiCorr", "emicorr"

    def needs_refs(self, params):
        return not params.get("frequencies")  # the EMICORR reference supplies them

    def apply_one(self, p, refs, frequencies=None, n_harmonics=3, skip_groups=0):
        from exolrs.stage1.emicorr import correct_emi

        freqs = frequencies or tuple(refs.emi_frequencies.values())
        data, _ = correct_emi(
            p.data,
            p.groupdq,
            freqs or (390.625,),
            n_harmonics,
            subarray=str(p.header.get("SUBARRAY", "SLITLESSPRISM")),
            skip_groups=skip_groups,
        )
        return {"data": data}


class ResetStep(Step):
    """Subtract the MIRI RESET reference (zero in CRDS today)."""

    suffix, name, history_name = "resetstep", "Reset", "reset"

    def apply_one(self, p, refs):
        from exolrs.stage1.reset import subtract_reset

        if refs.reset is None:
            return {}
        return {"data": subtract_reset(p.data, refs.reset, p.int_start)}


class LinearityStep(Step):
    """Linearity correction, MIRI dark subtraction, and the first `miri_drop_groups` dropped."""

    suffix, name, history_name = "linearitystep", "Linearity", "linearity"

    def apply_one(self, p, refs, miri_drop_groups=12):
        from exolrs.stage1.dark import subtract_dark
        from exolrs.stage1.linearity import correct_linearity, drop_groups

        data, gdq, pdq = correct_linearity(
            p.data, p.groupdq, p.pixeldq, refs.linearity, refs.linearity_dq
        )
        data = subtract_dark(data, refs.dark, p.int_start)
        try:
            gdq = drop_groups(gdq, miri_drop_groups)
        except ValueError as exc:
            raise ExolrsError(str(exc)) from None
        return {"data": data, "groupdq": gdq, "pixeldq": pdq}

    def plot(self, inputs, results):
        from exolrs.plots.stage1 import plot_group_differences

        before, after = inputs[0], results[0]
        return [
            plot_group_differences(
                before.data,
                after.groupdq,
                self.figure_path(after, "before"),
                "group differences before linearity",
            ),
            plot_group_differences(
                after.data,
                after.groupdq,
                self.figure_path(after, "after"),
                "group differences after linearity and dark",
            ),
        ]


class JumpStep(Step):
    """Up-the-ramp and/or time-domain jump detection (across segment boundaries)."""

    suffix, name = "jump", "Jump"

    def apply(
        self,
        products,
        flag_up_ramp=False,
        rejection_threshold=4.0,
        flag_in_time=True,
        time_rejection_threshold=10.0,
        time_window=5,
        **params,
    ):
        from exolrs.stage1.jump import flag_jumps_in_time, flag_jumps_up_ramp, time_halo

        kw = _refs_kw(params)
        refs = _stage1_refs(products[0], **kw)
        out = []
        halo = time_halo(time_window)
        for k, p in enumerate(products):
            gdq = p.groupdq
            if flag_up_ramp:
                gdq = flag_jumps_up_ramp(
                    p.data,
                    gdq,
                    p.pixeldq,
                    refs.readnoise,
                    refs.gain,
                    rejection_threshold=rejection_threshold,
                )
            if flag_in_time:
                # neighbouring segments supply the halo (segments are longer than it)
                pre = products[k - 1].data[-halo:] if k and halo else None
                post = products[k + 1].data[:halo] if k + 1 < len(products) and halo else None
                parts = [x for x in (pre, p.data, post) if x is not None]
                block = np.concatenate(parts) if len(parts) > 1 else p.data
                n_pre = 0 if pre is None else len(pre)
                gblock = np.zeros(block.shape, np.uint8)
                gblock[n_pre : n_pre + len(p.data)] = gdq
                total = p.nints_total or sum(len(q.data) for q in products)
                gdq = flag_jumps_in_time(
                    block,
                    gblock,
                    refs.readnoise,
                    refs.gain,
                    threshold=time_rejection_threshold,
                    window=time_window,
                    int_start=p.int_start - n_pre,
                    nints_total=total,
                    core=slice(n_pre, n_pre + len(p.data)),
                )
            out.append(replace(p, groupdq=gdq, history=[*p.history, "jump"]))
        return out

    def plot(self, inputs, results):
        from exolrs.plots.stage1 import plot_jumps

        return [plot_jumps(r.groupdq, self.figure_path(r, "jumps")) for r in results[:1]]


class RampFitStep(Step):
    """Fit slopes: returns and saves `<root>_rateints.fits` (JWST layout)."""

    suffix, name = "rateints", "RampFit"

    def reuse(self, paths):
        return list(paths)

    def save(self, product):
        return product  # written in apply

    def run(self, save_results=True, force_redo=False, do_plot=False, maximum_cores=1, **params):
        return super().run(
            save_results,
            force_redo,
            do_plot,
            maximum_cores=maximum_cores,
            save=save_results,
            **params,
        )

    def apply(self, products, maximum_cores=1, save=True, **params):
        from exolrs.io.products import IntegrationsWriter, product_name

        kw = _refs_kw(params)
        out = []
        for p in products:
            refs = _stage1_refs(p, **kw)
            tgroup = float(p.header.get("TGROUP", p.header.get("TFRAME", 0.15904)))
            fit = _fit_parallel(p, refs, tgroup, maximum_cores)
            path = product_name(f"{p.name}_uncal.fits", "rateints", self.output_dir)
            w = IntegrationsWriter(
                path,
                len(p.data),
                p.data.shape[-2:],
                header=p.header,
                int_times=p.int_times,
                extra_keywords={"S_EXOLRS": ("COMPLETE", "exolrs Stage 1")},
            )
            w.write(
                0,
                fit.slope,
                fit.err,
                fit.dq,
                var_poisson=fit.var_poisson,
                var_rnoise=fit.var_rnoise,
            )
            if save:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                out.append(w.close())
            else:
                out.append(fit)
        return out

    def plot(self, inputs, results):
        from exolrs.io.products import read_integrations_product
        from exolrs.plots.stage1 import plot_slope

        first = results[0]
        if isinstance(first, Path):
            r = read_integrations_product(first)
            slope, err = r.sci, r.err
        else:
            slope, err = first.slope, first.err
        return [plot_slope(slope, err, self.figure_path(inputs[0], "slope"))]


def _fit_block(args):
    from exolrs.stage1.ramp_fit import fit_ramps

    return fit_ramps(*args)


def _fit_parallel(p: RampProduct, refs, tgroup: float, maximum_cores: int):
    """Ramp fitting of one segment, split over `maximum_cores` processes by integration
    (results are independent of the split: one stcal call per integration)."""
    from exolrs.parallel import make_executor
    from exolrs.stage1.ramp_fit import RampFitResult

    n = len(p.data)
    parts = np.array_split(np.arange(n), max(1, min(int(maximum_cores or 1), n)))
    args = [
        (
            p.data[i[0] : i[-1] + 1],
            p.groupdq[i[0] : i[-1] + 1],
            p.pixeldq,
            refs.readnoise,
            refs.gain,
            tgroup,
            None,
            refs.avg_dark if "linearity" in p.history else None,  # the dark went with it
        )
        for i in parts
        if len(i)
    ]
    with make_executor("processes", len(args)) as ex:
        fits = list(ex.ordered_map(_fit_block, args))
    return RampFitResult(
        *(np.concatenate([getattr(f, k) for f in fits]) for k in RampFitResult.__annotations__)
    )
