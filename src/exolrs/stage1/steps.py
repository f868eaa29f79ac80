"""Stage 1 notebook steps, mirroring the exoTEDRF tutorial: one class per step.

    from exolrs import stage1
    result = stage1.DQInitStep(files, output_dir="Stage1").run(save_results=True)
    result = stage1.SaturationStep(result, output_dir="Stage1").run()
    ...
    rateints = stage1.RampFitStep(result, output_dir="Stage1").run()

A step takes uncal segments, saved step outputs or the previous step's `RampProduct`s,
applies its pure function from this package to each segment, and returns the products (saved
as `<root>_<suffix>.fits` when `save_results=True`; a finished output is reused unless
`force_redo=True`).  Step by step, a whole segment of ramps is held in memory;
`stage1.run_stage1` is the fused, streamed path for full-size data, with the same result.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from exolrs.errors import ExolrsError
from exolrs.io.products import IntegrationsWriter, product_name, read_hot_pixel_map
from exolrs.io.ramps import RampProduct, load_ramps, ramp_names
from exolrs.parallel import make_executor
from exolrs.plots import stage1 as plots
from exolrs.stage1 import dark, dq_init, emicorr, jump, linearity, ramp_fit, reset, saturation
from exolrs.stage1.references import Stage1Refs, load_stage1_refs, resolve_stage1_refs
from exolrs.step import Step

log = logging.getLogger(__name__)


class RampStep(Step):
    """Base of the Stage 1 steps: one product per segment, `<root>_<suffix>.fits`.

    A step implements `apply_one(product, refs, **params)`, returning the changed fields of
    one segment's product; the exposure's references are resolved once for all segments."""

    history_name = ""  # recorded in each product's history

    def load(self, input_data) -> list[RampProduct]:
        return load_ramps(input_data)

    def expected_outputs(self, params):
        names = ramp_names(self.input_data)
        return [self.output_dir / f"{n}_{self.suffix}.fits" for n in names] if names else None

    def save(self, products, data):
        for p in products:
            p.save(self.output_dir / f"{p.name}_{self.suffix}.fits")
        return products

    def apply(self, products: list[RampProduct], **params):
        refs = self.stage1_refs(products[0]) if self.needs_refs(params) else None
        return [
            replace(p, **self.apply_one(p, refs, **params), history=[*p.history, self.history_name])
            for p in products
        ]

    def figure_path(self, product: RampProduct, what: str) -> Path:
        return self.output_dir / f"{product.name}_{self.suffix}_{what}.png"

    def stage1_refs(self, product: RampProduct) -> Stage1Refs:
        """The exposure's Stage 1 reference arrays."""
        header = dict(product.header)
        refset = resolve_stage1_refs(header, self.references, self.crds_path)
        return load_stage1_refs(refset.paths, header)

    def needs_refs(self, params: dict) -> bool:
        return True

    def apply_one(self, p: RampProduct, refs, **params) -> dict:  # pragma: no cover - abstract
        """The changed fields of one segment's product."""
        raise NotImplementedError


def _plot_dq(step: RampStep, results) -> list[Path]:
    return [plots.plot_dq_map(r.pixeldq, r.groupdq, step.figure_path(r, "dq")) for r in results[:1]]


class DQInitStep(RampStep):
    """Static mask, optional hot-pixel map, first/last group DO_NOT_USE."""

    suffix, name, history_name = "dqinitstep", "DQInit", "dq_init"

    def apply(self, products, hot_pixel_map=None, **params):
        if isinstance(hot_pixel_map, str | Path):
            hot_pixel_map = read_hot_pixel_map(hot_pixel_map)
        return super().apply(products, hot_pixel_map=hot_pixel_map, **params)

    def apply_one(self, p, refs, hot_pixel_map=None):
        pdq, gdq = dq_init.init_dq(
            p.groupdq, refs.mask, pixeldq=p.pixeldq, hot_pixel_map=hot_pixel_map
        )
        return {"pixeldq": pdq, "groupdq": gdq}

    def plot(self, inputs, results):
        return _plot_dq(self, results)


class SaturationStep(RampStep):
    """Flag saturated groups (reference, or `saturation_threshold` in DN)."""

    suffix, name, history_name = "saturationstep", "Saturation", "saturation"

    def apply_one(self, p, refs, saturation_threshold=None):
        gdq, pdq = saturation.flag_saturation(
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


class EmiCorrStep(RampStep):
    """Fit and remove the 390 Hz EMI and harmonics per integration."""

    suffix, name, history_name = "emicorrstep", "EmiCorr", "emicorr"

    def needs_refs(self, params):
        return not params.get("frequencies")  # the EMICORR reference supplies them

    def apply_one(self, p, refs, frequencies=None, n_harmonics=3, skip_groups=0):
        freqs = frequencies or tuple(refs.emi_frequencies.values())
        data, _ = emicorr.correct_emi(
            p.data,
            p.groupdq,
            freqs or (390.625,),
            n_harmonics,
            subarray=str(p.header.get("SUBARRAY", "SLITLESSPRISM")),
            skip_groups=skip_groups,
        )
        return {"data": data}


class ResetStep(RampStep):
    """Subtract the MIRI RESET reference (zero in CRDS today)."""

    suffix, name, history_name = "resetstep", "Reset", "reset"

    def apply_one(self, p, refs):
        if refs.reset is None:
            return {}
        out = {"data": reset.subtract_reset(p.data, refs.reset, p.int_start)}
        if refs.reset_dq is not None:
            out["pixeldq"] = p.pixeldq | refs.reset_dq
        return out


class LinearityStep(RampStep):
    """Linearity correction, MIRI dark subtraction, and the first `miri_drop_groups` dropped."""

    suffix, name, history_name = "linearitystep", "Linearity", "linearity"

    def apply_one(self, p, refs, miri_drop_groups=12):
        data, gdq, pdq = linearity.correct_linearity(
            p.data, p.groupdq, p.pixeldq, refs.linearity, refs.linearity_dq
        )
        data = dark.subtract_dark(data, refs.dark, p.int_start)
        if refs.dark_dq is not None:
            pdq = pdq | refs.dark_dq
        try:
            gdq = linearity.drop_groups(gdq, miri_drop_groups)
        except ValueError as exc:
            raise ExolrsError(str(exc)) from None
        return {"data": data, "groupdq": gdq, "pixeldq": pdq}

    def plot(self, inputs, results):
        before, after = inputs[0], results[0]
        return [
            plots.plot_group_differences(
                before.data,
                after.groupdq,
                self.figure_path(after, "before"),
                "group differences before linearity",
            ),
            plots.plot_group_differences(
                after.data,
                after.groupdq,
                self.figure_path(after, "after"),
                "group differences after linearity and dark",
            ),
        ]


class JumpStep(RampStep):
    """Up-the-ramp and/or time-domain jump detection (across segment boundaries: the
    neighbouring segments supply the time-domain window's halo)."""

    suffix, name, history_name = "jump", "Jump", "jump"

    def apply(
        self,
        products,
        flag_up_ramp=False,
        rejection_threshold=4.0,
        flag_in_time=True,
        time_rejection_threshold=10.0,
        time_window=5,
        shower_sigma=30.0,
        shower_radius=4.0,
    ):
        refs = self.stage1_refs(products[0])
        out = []
        halo = jump.time_halo(time_window)
        for k, p in enumerate(products):
            gdq = p.groupdq
            if flag_up_ramp:
                gdq = jump.flag_jumps_up_ramp(
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
                gdq = jump.flag_jumps_in_time(
                    block,
                    gblock,
                    refs.readnoise,
                    refs.gain,
                    threshold=time_rejection_threshold,
                    window=time_window,
                    int_start=p.int_start - n_pre,
                    nints_total=total,
                    core=slice(n_pre, n_pre + len(p.data)),
                    shower_sigma=shower_sigma,
                    shower_radius=shower_radius,
                )
            out.append(replace(p, groupdq=gdq, history=[*p.history, self.history_name]))
        return out

    def plot(self, inputs, results):
        return [plots.plot_jumps(r.groupdq, self.figure_path(r, "jumps")) for r in results[:1]]


class RampFitStep(RampStep):
    """Fit slopes; saves `<root>_rateints.fits` (JWST layout) and returns their paths, or the
    fits (`RampFitResult` per segment) when `save_results=False`."""

    suffix, name = "rateints", "RampFit"

    def reuse(self, paths):
        return list(paths)

    def apply(self, products, maximum_cores=1):
        return [
            _fit_parallel(p, self.stage1_refs(p), _group_time(p), maximum_cores) for p in products
        ]

    def save(self, fits, products):
        paths = []
        for p, fit in zip(products, fits, strict=True):
            w = IntegrationsWriter(
                product_name(f"{p.name}_uncal.fits", "rateints", self.output_dir),
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
            paths.append(w.close())
        return paths

    def plot(self, inputs, fits):
        return [plots.plot_slope(fits[0].slope, fits[0].err, self.figure_path(inputs[0], "slope"))]


def _group_time(p: RampProduct) -> float:
    return float(p.header.get("TGROUP", p.header.get("TFRAME", 0.15904)))


def _fit_block(args):
    return ramp_fit.fit_ramps(*args)


def _fit_parallel(p: RampProduct, refs, tgroup: float, maximum_cores: int):
    """Ramp fitting of one segment, split over `maximum_cores` processes by integration
    (results are independent of the split: one stcal call per integration)."""
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
    return ramp_fit.RampFitResult(
        *(
            np.concatenate([getattr(f, k) for f in fits])
            for k in ramp_fit.RampFitResult.__annotations__
        )
    )
