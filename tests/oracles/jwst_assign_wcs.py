"""Oracle: jwst's AssignWcsStep on a product, offline; saves the WCS wavelength of every pixel.

    python jwst_assign_wcs.py PRODUCT SPECWCS DISTORTION OUT.npy

Runs in its own process because CRDS reads its configuration when first imported: CRDS is
kept offline (an empty CRDS_PATH, an unreachable server, no step-parameter references, the
"context used" keyword answered locally) and every reference other than SPECWCS and
DISTORTION is "N/A".
"""

import atexit
import os
import shutil
import sys
import tempfile

os.environ["CRDS_PATH"] = tempfile.mkdtemp(prefix="crds_empty_")
os.environ["CRDS_SERVER_URL"] = "https://crds-offline.invalid"
os.environ["CRDS_OBSERVATORY"] = "jwst"
os.environ["STPIPE_DISABLE_CRDS_STEPPARS"] = "true"

import numpy as np
from stdatamodels.jwst import datamodels
from stpipe import crds_client

crds_client.get_context_used = lambda observatory: "N/A (offline)"
atexit.register(shutil.rmtree, os.environ["CRDS_PATH"], ignore_errors=True)  # the empty cache

from jwst.assign_wcs import AssignWcsStep  # noqa: E402


def main(product, specwcs, distortion, out):
    overrides = {
        f"override_{k}": "N/A"
        for k in AssignWcsStep.reference_file_types
        if k not in ("distortion", "specwcs")
    }
    with datamodels.open(product) as model:
        result = AssignWcsStep.call(
            model, override_specwcs=specwcs, override_distortion=distortion, **overrides
        )
        ny, nx = result.data.shape[-2:]
        y, x = np.mgrid[:ny, :nx]
        _, _, lam = result.meta.wcs(x, y)
    np.save(out, np.asarray(lam, float))


if __name__ == "__main__":
    main(*sys.argv[1:5])
