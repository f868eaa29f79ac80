"""Stage 4 notebook step, mirroring the exoTEDRF tutorial:

from exolrs import stage4
result = stage4.FitLightCurvesStep("W_box_spectra_fullres.fits", output_dir="Stage4").run(
    planet={"period": 4.05528}, resolution=20)
"""

from __future__ import annotations

from exolrs.io.spectra import Spectra
from exolrs.io.x1dints import load_spectra
from exolrs.parallel import make_executor
from exolrs.stage4.engine import (
    LightCurveFits,
    fit_light_curves,
    plot_stage4,
    stage4_params,
    stage4_result,
    write_stage4,
)
from exolrs.step import Step


class FitLightCurvesStep(Step):
    """White and spectroscopic light-curve fits of a spectra file (or `Spectra`): saves
    white_fit.json, channel_fits.ecsv, transmission_spectrum.ecsv and light_curves.ecsv and
    returns their paths (a `Stage4Result`), or the fits in memory (`LightCurveFits`) when
    `save_results=False`.  Parameters are those of the run file's `stage4:` section, plus
    `truth` (a simulation's truth.ecsv), `detrend_table` and `maximum_cores`."""

    suffix, name = "stage4", "FitLightCurves"

    def load(self, input_data) -> Spectra:
        return input_data if isinstance(input_data, Spectra) else load_spectra(input_data)

    def expected_outputs(self, params):
        r = stage4_result(self.output_dir)
        return [r.white_fit, r.spectrum, r.channel_fits]

    def reuse(self, paths):
        return stage4_result(self.output_dir)

    def apply(self, spec, truth=None, detrend_table=None, maximum_cores=1, **params):
        source = "the spectra" if isinstance(self.input_data, Spectra) else self.input_data
        with make_executor("processes", maximum_cores) as ex:
            return fit_light_curves(
                spec,
                stage4_params(None, params),
                truth=truth,
                detrend_table=detrend_table,
                executor=ex,
                source=source,
            )

    def save(self, lc: LightCurveFits, data):
        result = write_stage4(lc, self.output_dir)
        result.figures = self.figures
        return result

    def plot(self, data, lc: LightCurveFits):
        return plot_stage4(lc, self.output_dir)
