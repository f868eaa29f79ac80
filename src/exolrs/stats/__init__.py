"""Small shared statistics kernels: running windows along time, fast small medians, and the
time-averaging (Allan) test of residuals, the NaN-ignoring median over time."""

from exolrs.stats.allan import allan, allan_slope
from exolrs.stats.medians import nanmedian0
from exolrs.stats.windows import median_of_window, neighbour_start

__all__ = ["allan", "allan_slope", "median_of_window", "nanmedian0", "neighbour_start"]
