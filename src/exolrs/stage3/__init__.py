"""Stage 3: calibrated integrations → stellar spectra.  Pure functions in the modules of
this package; `Extract1DStep`, `AlignSpectraStep` and `run_stage3` are re-exported here."""

from exolrs.stage3.pipeline import run_stage3
from exolrs.steps_stage23 import AlignSpectraStep, Extract1DStep

__all__ = ["AlignSpectraStep", "Extract1DStep", "run_stage3"]
