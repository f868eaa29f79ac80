"""Stage 1: uncal ramps → rateints.

One module per step algorithm (pure functions on arrays: dq_init, saturation, emicorr, reset,
linearity, dark, jump, ramp_fit), `references` (the reference arrays), `engine` (the fused,
streamed `run_stage1`) and `steps` (the tutorial's step classes, re-exported here).
"""

from exolrs.stage1.engine import run_stage1
from exolrs.stage1.steps import (
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
