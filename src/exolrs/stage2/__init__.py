"""Stage 2: rateints → calibrated integrations.  Pure functions in the modules of this
package; the tutorial-style steps and `run_stage2` are re-exported here."""

from exolrs.stage2.pipeline import run_stage2
from exolrs.steps_stage23 import (
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
