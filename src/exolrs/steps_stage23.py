"""Notebook step classes of Stages 2 and 3, mirroring the exoTEDRF tutorial.

    from exolrs import stage2, stage3
    r = stage2.AssignWCSStep(rateints, output_dir="Stage2", references=refs).run()
    r = stage2.SourceTypeStep(r, output_dir="Stage2").run()
    r = stage2.FlatFieldStep(r, output_dir="Stage2", references=refs).run()
    r = stage2.BackgroundStep(r, output_dir="Stage2").run(miri_method="median")
    r = stage2.BadPixStep(r, output_dir="Stage2").run(space_thresh=10, time_thresh=10)
    r = stage2.PCAReconstructStep(r, output_dir="Stage2").run(pca_components=10)
    spectra = stage3.Extract1DStep(r, output_dir="Stage3").run(extract_method="optimal")

Each step takes rateints/calints-layout files or the previous step's `CubeProduct`, applies
the pure functions of `exolrs.stage2` / `exolrs.stage3`, saves `<root>_<step>.fits` per
segment when `save_results=True` (nothing is ever needed from disk: `save_results=False`
works throughout) and reuses finished outputs unless `force_redo=True`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from exolrs.io.products import Integrations


@dataclass
class CubeProduct(Integrations):
    """The whole exposure's integrations between Stage 2/3 steps: the arrays of
    `exolrs.io.products.Integrations` plus what the steps learn about them."""

    names: list[str]  # segment roots
    lengths: list[int]  # integrations per segment
    wavelengths: np.ndarray | None = None  # per row, once AssignWCS ran
    source_type: str | None = None
    trace_x: float | None = None
    hot_pixels: np.ndarray | None = None
    deep: np.ndarray | None = None
    background: dict | None = None  # header keywords of the background subtraction
    history: list[str] = field(default_factory=list)

    def save(self, output_dir: Path, suffix: str) -> list[Path]:
        from exolrs.io.products import IntegrationsWriter

        paths, start = [], 0
        extra = {"S_STEPS": ",".join(self.history)[-68:]}
        if self.source_type:
            extra["SRCTYPE"] = self.source_type
        if self.trace_x is not None:
            extra["TRACE_X"] = round(float(self.trace_x), 3)
        extra.update(self.background or {})
        for name, n in zip(self.names, self.lengths, strict=True):
            w = IntegrationsWriter(
                output_dir / f"{name}_{suffix}.fits",
                n,
                self.sci.shape[1:],
                header=self.header,
                extra_keywords=extra,
                int_times=None if self.int_times is None else self.int_times[start : start + n],
            )
            sl = slice(start, start + n)
            w.write(
                0,
                self.sci[sl],
                self.err[sl],
                self.dq[sl],
                var_poisson=self.var_poisson[sl],
                var_rnoise=self.var_rnoise[sl],
            )
            paths.append(w.close())
            start += n
        return paths


def load_cube(inputs) -> CubeProduct:
    """Files in the rateints/calints layout (segment order), or a `CubeProduct`."""
    from astropy.io import fits

    from exolrs.io.products import read_integrations_product

    if isinstance(inputs, CubeProduct):
        return inputs
    paths = [Path(inputs)] if isinstance(inputs, str | os.PathLike) else [Path(p) for p in inputs]
    r = read_integrations_product(paths)
    lengths = [int(fits.getheader(p, "SCI")["NAXIS3"]) for p in paths]
    names = [p.name.rsplit("_", 1)[0] for p in paths]
    header = dict(r.header)
    for key in ("COMMENT", "HISTORY", ""):
        header.pop(key, None)
    fields = {k: getattr(r, k) for k in Integrations.__dataclass_fields__}
    return CubeProduct(
        **{**fields, "header": header},
        names=names,
        lengths=lengths,
        source_type=header.get("SRCTYPE"),
        history=[s for s in str(header.get("S_STEPS", "")).split(",") if s],
    )


class CubeStep:
    """Base of the Stage 2/3 steps: subclasses set `suffix`, implement `apply`."""

    suffix = ""

    def __init__(self, input_data, output_dir: str | os.PathLike | None = None, **kwargs):
        self.input_data = input_data
        self.output_dir = Path(output_dir) if output_dir is not None else Path(".")
        self.kwargs = kwargs
        self.figures: list[Path] = []

    def _expected(self) -> list[Path] | None:
        data = self.input_data
        if isinstance(data, CubeProduct):
            names = data.names
        else:
            items = [data] if isinstance(data, str | os.PathLike) else list(data)
            names = [Path(p).name.rsplit("_", 1)[0] for p in items]
        return [self.output_dir / f"{n}_{self.suffix}.fits" for n in names]

    def run(
        self, save_results: bool = True, force_redo: bool = False, do_plot: bool = False, **params
    ):
        expected = self._expected()
        if save_results and not force_redo and all(p.exists() for p in expected):
            return load_cube(expected)
        cube = load_cube(self.input_data)
        result = self.apply(cube, **{**self.kwargs, **params})
        result = replace(result, history=[*cube.history, self.suffix])
        if save_results:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            result.save(self.output_dir, self.suffix)
            self.save_extras(result)
        if do_plot:
            self.figures = self.plot(result)
        return result

    def plot(self, result) -> list[Path]:
        return []

    def save_extras(self, result: CubeProduct) -> None:
        """Products besides the cube (e.g. the hot-pixel map); none by default."""

    def apply(self, cube: CubeProduct, **params) -> CubeProduct:  # pragma: no cover
        raise NotImplementedError


def _ref(cube: CubeProduct, reftype: str, references=None, crds_path=None) -> Path:
    from exolrs.refs import get_references

    return get_references(cube.header, (reftype,), overrides=references, crds_path=crds_path).paths[
        reftype
    ]


class AssignWCSStep(CubeStep):
    """Wavelength of every row from the LRS specwcs reference (NaN outside the table)."""

    suffix = "assignwcsstep"

    def apply(self, cube, references=None, crds_path=None):
        from exolrs.refs import load_specwcs
        from exolrs.stage2.wavelength import row_wavelengths

        table = load_specwcs(_ref(cube, "specwcs", references, crds_path), cube.header)
        return replace(cube, wavelengths=row_wavelengths(table, cube.sci.shape[1]))


class SourceTypeStep(CubeStep):
    """Record the source as a point source (SRCTYPE = POINT), as jwst does for LRS TSOs."""

    suffix = "sourcetypestep"

    def apply(self, cube):
        return replace(cube, source_type="POINT")


class FlatFieldStep(CubeStep):
    """Divide by the flat reference; error and DQ propagated."""

    suffix = "flatfieldstep"

    def apply(self, cube, references=None, crds_path=None):
        from exolrs.refs import load_flat
        from exolrs.stage2.flat_field import apply_flat

        flat, fdq, ferr = load_flat(_ref(cube, "flat", references, crds_path), cube.header)
        sci, err, dq = apply_flat(cube.sci, cube.err, cube.dq, flat, fdq, ferr)
        return replace(cube, sci=sci, err=err, dq=dq)


class BackgroundStep(CubeStep):
    """Row-wise background from off-trace columns ('median' or 'slope')."""

    suffix = "backgroundstep"

    def apply(
        self,
        cube,
        miri_method="median",
        miri_trace_width=20,
        miri_background_width=14,
        baseline_ints=None,
    ):
        from exolrs.stage2 import background
        from exolrs.stage2.badpix import static_bad_pixels
        from exolrs.stage2.baseline import baseline_indices, deep_frame

        base = baseline_indices(baseline_ints, cube.sci.shape[0])
        x0 = background.trace_center_estimate(deep_frame(cube.sci, base))
        sci, _ = background.subtract_background(
            cube.sci,
            x0,
            miri_method,
            miri_trace_width,
            miri_background_width,
            bad=static_bad_pixels(cube.dq),
        )
        keywords = background.header_keywords(miri_method, miri_trace_width, miri_background_width)
        return replace(cube, sci=sci, trace_x=x0, background=keywords)


class BadPixStep(CubeStep):
    """Spatial bad pixels on the deep frame and temporal outliers; writes the hot-pixel map
    `<root>_hot_pixel_map.fits` that Stage 1's DQInitStep takes back."""

    suffix = "badpixstep"

    def apply(
        self,
        cube,
        space_thresh=10.0,
        time_thresh=10.0,
        baseline_ints=None,
        replace_first_integration=True,
    ):
        from exolrs.stage2 import badpix, first_int
        from exolrs.stage2.baseline import baseline_indices, deep_frame

        base = baseline_indices(baseline_ints, cube.sci.shape[0])
        static = badpix.static_bad_pixels(cube.dq)
        sci, err, hot, _ = badpix.correct_bad_pixels(
            cube.sci, cube.err, deep_frame(cube.sci, base), static, space_thresh, time_thresh
        )
        if replace_first_integration:
            sci = first_int.replace_first_integration(sci)
            err = first_int.replace_first_integration(err)
        self.new_hot = hot & ~static
        return replace(cube, sci=sci, err=err, hot_pixels=hot)

    def save_extras(self, result):
        from exolrs.io.products import write_hot_pixel_map

        write_hot_pixel_map(self.new_hot, self.output_dir / f"{result.names[0]}_hot_pixel_map.fits")


class PCAReconstructStep(CubeStep):
    """PCA of the cube; optionally remove components; the deep frame of the result."""

    suffix = "pcareconstructstep"

    def apply(self, cube, pca_components=10, remove_components=None, baseline_ints=None):
        from exolrs.stage2 import pca
        from exolrs.stage2.baseline import baseline_indices, deep_frame

        self.pca = pca.pca_cube(cube.sci, pca_components)
        self.removed = list(remove_components or [])
        sci = pca.remove_components(cube.sci, self.pca, remove_components)
        base = baseline_indices(baseline_ints, cube.sci.shape[0])
        return replace(cube, sci=sci, deep=deep_frame(sci, base))

    def plot(self, result):
        from exolrs.plots.stage2 import plot_pca
        from exolrs.stage2 import pca

        figures = [plot_pca(self.pca, self.output_dir / f"{result.names[0]}_pca.png")]
        if self.removed:  # the same decomposition after the removal
            after = pca.pca_cube(result.sci, len(self.pca.timeseries))
            figures.append(plot_pca(after, self.output_dir / f"{result.names[0]}_pca_after.png"))
        return figures


class Extract1DStep:
    """Trace centroids and box/optimal extraction; returns (and saves) the spectra file."""

    def __init__(self, input_data, output_dir=None, target: str = "target", **kwargs):
        self.input_data = input_data
        self.output_dir = Path(output_dir) if output_dir is not None else Path(".")
        self.target = target
        self.kwargs = kwargs

    def run(
        self, save_results: bool = True, force_redo: bool = False, do_plot: bool = False, **params
    ):
        import tempfile

        from exolrs.io.spectra import read_spectra, write_deep_frame
        from exolrs.stage3.pipeline import run_stage3

        cube = load_cube(self.input_data)
        params = {**self.kwargs, **params}
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            deep = cube.deep
            if deep is None:
                from exolrs.stage2.baseline import deep_frame

                deep = deep_frame(cube.sci, np.arange(len(cube.sci)))
            if cube.wavelengths is None:
                raise ValueError("run AssignWCSStep first: the rows need wavelengths")
            deep_path = write_deep_frame(deep, cube.wavelengths, tmp / "deep.fits")
            calints = cube.save(tmp, "calints")
            out = self.output_dir if save_results else tmp / "out"
            result = run_stage3(
                calints,
                deep_path,
                out,
                target=self.target,
                force_redo=force_redo,
                do_plot=do_plot,
                **params,
            )
            return read_spectra(result.spectra)


class AlignSpectraStep:
    """Spectral drift along the dispersion: measure the shift (and stretch) of every
    spectrum, store them as detrending vectors, optionally resample onto the reference.

    >>> spec = AlignSpectraStep("W_box_spectra_fullres.fits", output_dir="Stage3").run(
    ...     resample=True)  # doctest: +SKIP
    """

    def __init__(self, spectra, output_dir=None):
        self.spectra = spectra
        self.output_dir = Path(output_dir) if output_dir is not None else Path(".")
        self.figures: list[Path] = []

    def run(
        self,
        resample: bool = False,
        fit_stretch: bool = False,
        save_results: bool = True,
        do_plot: bool = False,
    ):
        from exolrs.io.spectra import Spectra, read_spectra, write_spectra
        from exolrs.stage3.pipeline import align_spectra

        spec = self.spectra if isinstance(self.spectra, Spectra) else read_spectra(self.spectra)
        out, _ = align_spectra(spec, resample=resample, fit_stretch=fit_stretch)
        stem = "spectra" if isinstance(self.spectra, Spectra) else Path(self.spectra).stem
        if save_results:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            write_spectra(out, self.output_dir / f"{stem}_aligned.fits")
        if do_plot:
            from exolrs.plots.stage3 import plot_drift

            self.figures = [plot_drift(out, self.output_dir / f"{stem}_drift.png")]
        return out
