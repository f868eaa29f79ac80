"""Stage 4: light curves, fits and the transmission spectrum.

One module per piece (pure functions: binning, limb_darkening, model, fit,
parameters), `engine` (`run_stage4`, and `fit_light_curves` in memory) and `steps` (the
tutorial's `FitLightCurvesStep`, re-exported here).
"""

from exolrs.stage4.engine import run_stage4
from exolrs.stage4.steps import FitLightCurvesStep

__all__ = ["FitLightCurvesStep", "run_stage4"]
