"""exolrs: fast, streaming reduction of JWST MIRI/LRS slitless time-series observations."""

from exolrs.errors import ExolrsError

__version__ = "0.1.0"
__all__ = ["ExolrsError", "__version__"]
