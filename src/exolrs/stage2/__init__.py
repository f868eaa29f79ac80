"""Stage 2: rateints → calibrated integrations (calints), deep frame, hot-pixel map.

One module per algorithm (pure functions on arrays: wavelength, flat_field, background,
badpix, baseline, first_int, pca), `engine` (`run_stage2`) and `steps` (the tutorial's step
classes, re-exported here).
"""

from exolrs.stage2.engine import run_stage2
from exolrs.stage2.steps import (
    AssignWCSStep,
    BackgroundStep,
    BadPixStep,
    FlatFieldStep,
    PCAReconstructStep,
    SourceTypeStep,
)

__all__ = [
    "AssignWCSStep",
    "BackgroundStep",
    "BadPixStep",
    "FlatFieldStep",
    "PCAReconstructStep",
    "SourceTypeStep",
    "run_stage2",
]
