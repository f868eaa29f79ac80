"""Reference files: resolution (override → CRDS cache → CRDS server) and loaders."""

from exolrs.refs.load import (
    load_dark,
    load_emicorr,
    load_flat,
    load_gain,
    load_linearity,
    load_mask,
    load_readnoise,
    load_reset,
    load_saturation,
    load_specwcs,
    subarray_window,
)
from exolrs.refs.resolve import RefSet, find_in_cache, get_references, server_reachable

__all__ = [
    "RefSet",
    "find_in_cache",
    "get_references",
    "load_dark",
    "load_emicorr",
    "load_flat",
    "load_gain",
    "load_linearity",
    "load_mask",
    "load_readnoise",
    "load_reset",
    "load_saturation",
    "load_specwcs",
    "server_reachable",
    "subarray_window",
]
