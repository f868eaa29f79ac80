"""Stage 4: light curves, fits and the transmission spectrum.  Pure pieces in the modules of
this package; `run_stage4` and the tutorial-style `FitLightCurvesStep` are re-exported."""

from exolrs.stage4.pipeline import FitLightCurvesStep, run_stage4

__all__ = ["FitLightCurvesStep", "run_stage4"]
