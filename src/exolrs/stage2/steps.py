"""Stage 2 notebook steps, mirroring the exoTEDRF tutorial:

    from exolrs import stage2
    r = stage2.AssignWCSStep(rateints, output_dir="Stage2", references=refs).run()
    r = stage2.SourceTypeStep(r, output_dir="Stage2").run()
    r = stage2.FlatFieldStep(r, output_dir="Stage2", references=refs).run()
    r = stage2.BackgroundStep(r, output_dir="Stage2").run(miri_method="slope")
    r = stage2.BadPixStep(r, output_dir="Stage2").run(space_thresh=10, time_thresh=10)
    r = stage2.PCAReconstructStep(r, output_dir="Stage2").run(pca_components=10)

Each step takes rateints/calints-layout files or the previous step's `CubeProduct`, applies
the pure functions of this package, saves `<root>_<step>.fits` per segment when
`save_results=True` (nothing is ever needed from disk: `save_results=False` works throughout)
and reuses finished outputs unless `force_redo=True`.
"""

from __future__ import annotations

from dataclasses import replace

from exolrs import refs as R
from exolrs.io.cube import CubeProduct, cube_names, load_cube
from exolrs.io.products import write_hot_pixel_map
from exolrs.plots.stage2 import plot_pca
from exolrs.stage2 import background, badpix, baseline, first_int, flat_field, pca
from exolrs.stage2.wavelength import row_wavelengths, wavelength_map
from exolrs.step import Step


class CubeStep(Step):
    """Base of the Stage 2 steps: the whole exposure as one `CubeProduct`, saved per segment.

    A step implements `apply_one(cube, **params)`, returning the changed fields of the cube."""

    def load(self, input_data) -> CubeProduct:
        return load_cube(input_data)

    def expected_outputs(self, params):
        return [self.output_dir / f"{n}_{self.suffix}.fits" for n in cube_names(self.input_data)]

    def apply(self, cube: CubeProduct, **params) -> CubeProduct:
        changes = self.apply_one(cube, **params)
        return replace(cube, **changes, history=[*cube.history, self.suffix])

    def save(self, cube: CubeProduct, data) -> CubeProduct:
        cube.save(self.output_dir, self.suffix)
        return cube

    def reference_path(self, cube: CubeProduct, reftype: str):
        return self.reference_paths(cube.header, (reftype,))[reftype]

    def apply_one(self, cube: CubeProduct, **params) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


class AssignWCSStep(CubeStep):
    """Wavelength of every row and pixel from the LRS specwcs reference, as jwst's WCS
    (NaN outside the table and the WCS bounding box); saved as the WAVELENGTH image."""

    suffix, name = "assignwcsstep", "AssignWCS"

    def apply_one(self, cube):
        table = R.load_specwcs(self.reference_path(cube, "specwcs"), cube.header)
        velosys = cube.header.get("VELOSYS")
        return {
            "wavelengths": row_wavelengths(table, cube.sci.shape[1], velosys),
            "wavelength_map": wavelength_map(table, *cube.sci.shape[1:], velosys),
        }


class SourceTypeStep(CubeStep):
    """Record the source as a point source (SRCTYPE = POINT), as jwst does for LRS TSOs."""

    suffix, name = "sourcetypestep", "SourceType"

    def apply_one(self, cube):
        return {"source_type": "POINT"}


class FlatFieldStep(CubeStep):
    """Divide by the flat reference, as jwst: variances divided by flat², the flat's own
    error kept apart in VAR_FLAT (it is common to every integration)."""

    suffix, name = "flatfieldstep", "FlatField"

    def apply_one(self, cube):
        flat, fdq, ferr = R.load_flat(self.reference_path(cube, "flat"), cube.header)
        sci, err, dq = flat_field.apply_flat(
            cube.sci, cube.err, cube.dq, flat, fdq, ferr, include_flat_error=False
        )
        f2 = flat_field.usable_flat(flat, fdq)[0] ** 2
        return {
            "sci": sci,
            "err": err,
            "dq": dq,
            "var_poisson": cube.var_poisson / f2,
            "var_rnoise": cube.var_rnoise / f2,
            "var_flat": flat_field.flat_variance(sci, flat, ferr, fdq),
        }


class BackgroundStep(CubeStep):
    """Row-wise background from off-trace columns ('median' or 'slope')."""

    suffix, name = "backgroundstep", "Background"

    def apply_one(
        self,
        cube,
        miri_method="slope",
        miri_trace_width=20,
        miri_background_width=14,
        baseline_ints=None,
    ):
        base = baseline.baseline_indices(baseline_ints, cube.sci.shape[0])
        x0 = background.trace_center_estimate(baseline.deep_frame(cube.sci, base))
        sci, _ = background.subtract_background(
            cube.sci,
            x0,
            miri_method,
            miri_trace_width,
            miri_background_width,
            bad=badpix.static_bad_pixels(cube.dq),
        )
        keywords = background.header_keywords(miri_method, miri_trace_width, miri_background_width)
        return {"sci": sci, "trace_x": x0, "background": keywords}


class BadPixStep(CubeStep):
    """Spatial bad pixels on the deep frame, temporal outliers and wandering (telegraph)
    pixels, and the first integration replaced; saves the hot-pixel map
    `<root>_hot_pixel_map.fits` that Stage 1's DQInitStep takes back."""

    suffix, name = "badpixstep", "BadPix"

    def apply_one(
        self,
        cube,
        space_thresh=10.0,
        time_thresh=10.0,
        baseline_ints=None,
        replace_first_integration=True,
        telegraph_thresh=8.0,
    ):
        base = baseline.baseline_indices(baseline_ints, cube.sci.shape[0])
        static = badpix.static_bad_pixels(cube.dq)
        sci, err, hot, _ = badpix.correct_bad_pixels(
            cube.sci,
            cube.err,
            baseline.deep_frame(cube.sci, base),
            static,
            space_thresh,
            time_thresh,
            telegraph_thresh=telegraph_thresh,
        )
        if replace_first_integration:
            sci = first_int.replace_first_integration(sci)
            err = first_int.replace_first_integration(err)
        return {"sci": sci, "err": err, "hot_pixels": hot}

    def save(self, cube, data):
        new_hot = cube.hot_pixels & ~badpix.static_bad_pixels(cube.dq)
        write_hot_pixel_map(new_hot, self.output_dir / f"{cube.names[0]}_hot_pixel_map.fits")
        return super().save(cube, data)


class PCAReconstructStep(CubeStep):
    """PCA of the cube; optionally remove components; the deep frame of the result."""

    suffix, name = "pcareconstructstep", "PCAReconstruct"

    def apply_one(self, cube, pca_components=10, remove_components=None, baseline_ints=None):
        self.pca = pca.pca_cube(cube.sci, pca_components)
        self.removed = list(remove_components or [])
        sci = pca.remove_components(cube.sci, self.pca, remove_components)
        base = baseline.baseline_indices(baseline_ints, cube.sci.shape[0])
        return {"sci": sci, "deep": baseline.deep_frame(sci, base)}

    def plot(self, cube, result):
        figures = [plot_pca(self.pca, self.output_dir / f"{result.names[0]}_pca.png")]
        if self.removed:  # the same decomposition after the removal
            after = pca.pca_cube(result.sci, len(self.pca.timeseries))
            figures.append(plot_pca(after, self.output_dir / f"{result.names[0]}_pca_after.png"))
        return figures
