"""JWST data-quality bit definitions, taken from the JWST packages rather than re-typed.

``PIXEL`` and ``GROUP`` are the dictionaries published by ``stdatamodels``
(``DO_NOT_USE`` = 1, ``SATURATED`` = 2, ``JUMP_DET`` = 4, ...).
"""

from stdatamodels.jwst.datamodels.dqflags import group as GROUP
from stdatamodels.jwst.datamodels.dqflags import pixel as PIXEL

DO_NOT_USE = PIXEL["DO_NOT_USE"]
SATURATED = PIXEL["SATURATED"]
JUMP_DET = PIXEL["JUMP_DET"]
DEAD = PIXEL["DEAD"]
HOT = PIXEL["HOT"]
WARM = PIXEL["WARM"]
NO_GAIN_VALUE = PIXEL["NO_GAIN_VALUE"]
NONLINEAR = PIXEL["NONLINEAR"]
NO_LIN_CORR = PIXEL["NO_LIN_CORR"]
NO_FLAT_FIELD = PIXEL["NO_FLAT_FIELD"]
REFERENCE_PIXEL = PIXEL["REFERENCE_PIXEL"]
OTHER_BAD_PIXEL = PIXEL["OTHER_BAD_PIXEL"]
AD_FLOOR = PIXEL["AD_FLOOR"]
NO_SAT_CHECK = PIXEL["NO_SAT_CHECK"]

__all__ = [
    "AD_FLOOR",
    "DEAD",
    "DO_NOT_USE",
    "GROUP",
    "HOT",
    "JUMP_DET",
    "NONLINEAR",
    "NO_FLAT_FIELD",
    "NO_GAIN_VALUE",
    "NO_LIN_CORR",
    "NO_SAT_CHECK",
    "OTHER_BAD_PIXEL",
    "PIXEL",
    "REFERENCE_PIXEL",
    "SATURATED",
    "WARM",
]
