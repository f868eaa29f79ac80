"""Stage 3: calibrated integrations → stellar spectra.  Pure functions in the modules of
this package; `Extract1DStep` and `run_stage3` are re-exported here."""

from exolrs.stage3.pipeline import run_stage3
from exolrs.steps_stage23 import Extract1DStep

__all__ = ["Extract1DStep", "run_stage3"]
