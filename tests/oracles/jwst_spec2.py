"""Oracle: jwst's own Stage 2 steps on rateints, offline; writes `<root>_calints.fits`.

    python jwst_spec2.py OUTDIR SPECWCS DISTORTION FLAT RATEINTS [RATEINTS ...]

AssignWcs → SourceType → FlatField, as calwebb_tso-spec2 runs them for MIRI LRS slitless,
with the given references and every other reference "N/A"; CRDS stays offline (see
jwst_assign_wcs.py).  Runs in its own process because CRDS reads its configuration on import.
"""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ["CRDS_PATH"] = tempfile.mkdtemp(prefix="crds_empty_")
os.environ["CRDS_SERVER_URL"] = "https://crds-offline.invalid"
os.environ["CRDS_OBSERVATORY"] = "jwst"
os.environ["STPIPE_DISABLE_CRDS_STEPPARS"] = "true"

from stdatamodels.jwst import datamodels
from stpipe import crds_client

crds_client.get_context_used = lambda observatory: "N/A (offline)"
atexit.register(shutil.rmtree, os.environ["CRDS_PATH"], ignore_errors=True)  # the empty cache

from jwst.assign_wcs import AssignWcsStep  # noqa: E402
from jwst.flatfield import FlatFieldStep  # noqa: E402
from jwst.srctype import SourceTypeStep  # noqa: E402


def _na(step, keep):
    return {f"override_{k}": "N/A" for k in step.reference_file_types if k not in keep}


def main(outdir, specwcs, distortion, flat, *rateints):
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    for path in rateints:
        with datamodels.open(path) as model:
            m = AssignWcsStep.call(
                model,
                override_specwcs=specwcs,
                override_distortion=distortion,
                **_na(AssignWcsStep, ("specwcs", "distortion")),
            )
            m = SourceTypeStep.call(m)
            m = FlatFieldStep.call(m, override_flat=flat, **_na(FlatFieldStep, ("flat",)))
            m.save(out / Path(path).name.replace("_rateints.fits", "_calints.fits"))


if __name__ == "__main__":
    main(*sys.argv[1:])
