"""Stage 1: uncal ramps → rateints.  Pure step functions live in the modules of this package
(dq_init, saturation, emicorr, reset, linearity, dark, jump, ramp_fit); the tutorial-style
step classes and the fused streaming `run_stage1` are re-exported here."""

from exolrs.run import run_stage1
from exolrs.steps import (
    DQInitStep,
    EmiCorrStep,
    JumpStep,
    LinearityStep,
    RampFitStep,
    ResetStep,
    SaturationStep,
)

__all__ = [
    "DQInitStep",
    "EmiCorrStep",
    "JumpStep",
    "LinearityStep",
    "RampFitStep",
    "ResetStep",
    "SaturationStep",
    "run_stage1",
]
