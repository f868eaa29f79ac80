"""Stage 3: calibrated integrations → stellar spectra.

One module per algorithm (pure functions on arrays: trace, extract_box, extract_optimal,
align), `engine` (`run_stage3`, and `extract_spectra` in memory) and `steps` (the tutorial's
`Extract1DStep` and `AlignSpectraStep`, re-exported here).
"""

from exolrs.stage3.engine import run_stage3
from exolrs.stage3.steps import AlignSpectraStep, Extract1DStep

__all__ = ["AlignSpectraStep", "Extract1DStep", "run_stage3"]
