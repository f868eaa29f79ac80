"""Stage 3 notebook steps, mirroring the exoTEDRF tutorial:

from exolrs import stage3
spectra = stage3.Extract1DStep(cube, output_dir="Stage3", target="WASP-39b").run(
    extract_method="optimal", extract_width=6)
spectra = stage3.AlignSpectraStep(spectra, output_dir="Stage3").run(resample=True)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exolrs.config import Stage3Config
from exolrs.io.cube import CubeProduct, load_cube
from exolrs.io.spectra import Spectra, read_spectra, write_spectra
from exolrs.plots.stage3 import plot_drift
from exolrs.stage2.baseline import deep_frame
from exolrs.stage3.engine import (
    align_spectra,
    extract_spectra,
    plot_stage3,
    stage3_paths,
    write_stage3,
)
from exolrs.step import Step


class Extract1DStep(Step):
    """Trace centroids and box/optimal extraction of a `CubeProduct` (or calints-layout
    files): returns the spectra, saved as `<target>_<method>_spectra_fullres.fits` with
    `<target>_centroids.csv`.  Parameters are those of the run file's `stage3:` section."""

    suffix, name = "spectra_fullres", "Extract1D"

    def load(self, input_data) -> CubeProduct:
        return load_cube(input_data)

    def expected_outputs(self, params):
        p = _stage3_params(params)
        return list(stage3_paths(self.output_dir, params.get("target", "target"), p.extract_method))

    def reuse(self, paths):
        return read_spectra(paths[0])

    def apply(self, cube: CubeProduct, target: str = "target", **params):
        if cube.wavelengths is None:
            raise ValueError("run AssignWCSStep first: the rows need wavelengths")
        deep = cube.deep
        if deep is None:
            deep = deep_frame(cube.sci, np.arange(len(cube.sci)))
        self.target, self.params = target, _stage3_params(params)
        self.extraction = extract_spectra(
            cube.sci,
            cube.err,
            cube.header,
            cube.int_times,
            deep,
            cube.wavelengths,
            self.params,
            target,
        )
        return self.extraction.spectra

    def save(self, spectra, data) -> Spectra:
        write_stage3(self.extraction, self.output_dir, self.target, self.params.extract_method)
        return spectra

    def plot(self, cube, spectra):
        return plot_stage3(
            self.extraction, self.output_dir, self.target, self.params.extract_method
        )


def _stage3_params(params: dict) -> Stage3Config:
    return Stage3Config.model_validate({k: v for k, v in params.items() if k != "target"})


class AlignSpectraStep(Step):
    """Spectral drift along the dispersion: measure the shift (and stretch) of every
    spectrum, store them as detrending vectors, optionally resample onto the reference;
    saves `<stem>_aligned.fits`.

    >>> spec = AlignSpectraStep("W_box_spectra_fullres.fits", output_dir="Stage3").run(
    ...     resample=True)  # doctest: +SKIP
    """

    suffix, name = "aligned", "AlignSpectra"

    def _stem(self) -> str:
        return "spectra" if isinstance(self.input_data, Spectra) else Path(self.input_data).stem

    def load(self, input_data) -> Spectra:
        return input_data if isinstance(input_data, Spectra) else read_spectra(input_data)

    def expected_outputs(self, params):
        return [self.output_dir / f"{self._stem()}_{self.suffix}.fits"]

    def reuse(self, paths):
        return read_spectra(paths[0])

    def apply(self, spec: Spectra, resample: bool = False, fit_stretch: bool = False):
        return align_spectra(spec, resample=resample, fit_stretch=fit_stretch)[0]

    def save(self, spec, data):
        write_spectra(spec, self.expected_outputs({})[0])
        return spec

    def plot(self, data, spec):
        return [plot_drift(spec, self.output_dir / f"{self._stem()}_drift.png")]
