"""Forward model of a JWST MIRI/LRS slitless TSO with known truth.

Independent of the reduction code: nothing here imports exolrs stages, io or refs.
"""

from exolrs.simulate.config import PRESETS, SimConfig, preset
from exolrs.simulate.core import simulate_tso

__all__ = ["PRESETS", "SimConfig", "preset", "simulate_tso"]
