"""Timing of Stage 2 kernels on one segment; see README.md beside this file."""

import json
import time
import warnings

import numpy as np
from astropy.io import fits

from exolrs.stage2 import background, badpix

warnings.simplefilter("ignore")

out = {}


def io_wrap(path, fn, tag):
    t = time.perf_counter()
    h = fits.open(path)
    cube = h[1].data.astype(np.float32)
    h[1].data = fn(cube)
    h.writeto(f"/tmp/exob/o/{tag}.fits", overwrite=True)
    return time.perf_counter() - t


out["bkg_median_200ints_s"] = io_wrap(
    "seg.fits", lambda c: background.subtract_background(c, 36.0, "median")[0], "om"
)
out["bkg_slope_20ints_s"] = io_wrap(
    "seg20.fits", lambda c: background.subtract_background(c, 36.0, "slope")[0], "os"
)
out["bkg_slope_200ints_s"] = io_wrap(
    "seg.fits", lambda c: background.subtract_background(c, 36.0, "slope")[0], "os2"
)


def bp(c):
    deep = np.nanmedian(c, 0)
    bad = badpix.find_bad_pixels(deep, None, 15)
    c = badpix.replace_bad_pixels(c, bad, inplace=True)
    return badpix.clip_time_outliers(c, 10, inplace=True)[0]


out["badpix_200ints_s"] = io_wrap("seg.fits", bp, "ob")
print(json.dumps(out))
