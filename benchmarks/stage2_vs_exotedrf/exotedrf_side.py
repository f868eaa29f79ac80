"""Timing of Stage 2 kernels on one segment; see README.md beside this file.

Runs in exoTEDRF's own environment, not exolrs's: it imports nothing from exolrs and stays
outside the package on purpose.
"""

import json
import time
import warnings

import numpy as np
from astropy.io import fits
from exotedrf import stage2

warnings.simplefilter("ignore")

out = {}
t = time.perf_counter()
stage2.backgroundstep_miri(
    "seg.fits", method="median", output_dir="/tmp/exob/o", fileroot="m_", save_results=True
)
out["bkg_median_200ints_s"] = time.perf_counter() - t
t = time.perf_counter()
stage2.backgroundstep_miri(
    "seg20.fits", method="slope", output_dir="/tmp/exob/o", fileroot="s_", save_results=True
)
out["bkg_slope_20ints_s"] = time.perf_counter() - t
cube = fits.getdata("seg.fits", 1)
deep = np.nanmedian(cube, axis=0)
t = time.perf_counter()
try:
    stage2.badpixstep("seg.fits", deep, output_dir="/tmp/exob/o", fileroot="b_", save_results=True)
    out["badpix_200ints_s"] = time.perf_counter() - t
except Exception as e:
    out["badpix_error"] = repr(e)[:200]
print(json.dumps(out))
