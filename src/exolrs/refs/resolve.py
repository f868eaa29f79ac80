"""Find the reference file of each reftype for an exposure.

Order, per reftype:

1. an explicit override path (run file `references:` or a step's keyword);
2. a local CRDS cache: ``$CRDS_PATH/references/jwst/miri/`` (or a folder given as
   `crds_path`), where the file whose header matches the exposure (INSTRUME, DETECTOR,
   SUBARRAY, FILTER/EXP_TYPE when the reference sets them) with the latest USEAFTER not after
   the observation date is chosen;
3. the CRDS server through the `crds` client (best references for the exposure header,
   downloaded into the cache), when the server answers;
4. otherwise an `ExolrsError` naming the missing reftype and how to supply it.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from astropy.io import fits

from exolrs.errors import ExolrsError
from exolrs.refs.asdf_tree import read_yaml

log = logging.getLogger(__name__)

DEFAULT_SERVER = "https://jwst-crds.stsci.edu"
# Keys of the exposure header that CRDS uses to select MIRI imager/LRS references.
SELECTION_KEYS = ("INSTRUME", "DETECTOR", "SUBARRAY", "FILTER", "EXP_TYPE", "READPATT")
WILDCARDS = {"", "ANY", "N/A", "GENERIC"}


@dataclass
class RefSet:
    """Resolved reference files: ``paths[reftype]`` and where each came from."""

    paths: dict[str, Path] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def get_references(
    header,
    reftypes,
    *,
    overrides: dict | None = None,
    crds_path: str | os.PathLike | None = None,
    optional=(),
    use_server: bool = True,
) -> RefSet:
    """Resolve every reftype in `reftypes` for the exposure described by `header`.

    Parameters
    ----------
    header : mapping of the exposure's primary-header keywords.
    reftypes : reference types wanted (``"mask"``, ``"dark"`` …).
    overrides : ``{reftype: path}`` taken as given (must exist).
    crds_path : CRDS cache root; default ``$CRDS_PATH``.
    optional : reftypes that may stay unresolved (left out of the result).
    use_server : allow asking the CRDS server for what the cache lacks.
    """
    overrides = {k.lower(): v for k, v in (overrides or {}).items() if v}
    out = RefSet()
    missing = []
    for reftype in reftypes:
        if reftype in overrides:
            path = Path(overrides[reftype]).expanduser()
            if not path.is_file():
                raise ExolrsError(
                    f"reference file for {reftype!r} not found: {path}. Fix the path under "
                    "`references:` in the run file, or remove it to let CRDS choose."
                )
            out.paths[reftype], out.sources[reftype] = path, "override"
            continue
        cached = find_in_cache(header, reftype, crds_path)
        if cached is not None:
            out.paths[reftype], out.sources[reftype] = cached, "crds-cache"
        else:
            missing.append(reftype)
    if missing and use_server:
        for reftype, path in _from_server(header, missing, crds_path).items():
            out.paths[reftype], out.sources[reftype] = path, "crds-server"
    unresolved = [r for r in reftypes if r not in out.paths and r not in optional]
    if unresolved:
        root = crds_path or os.environ.get("CRDS_PATH") or "(CRDS_PATH not set)"
        raise ExolrsError(
            f"no reference file for {', '.join(unresolved)}: not given under `references:`, "
            f"not in the CRDS cache at {root}, and the CRDS server could not supply it. Give "
            "a path per reftype under `references:` in the run file, set CRDS_PATH to a cache "
            "holding them, or run once with network access to "
            f"{os.environ.get('CRDS_SERVER_URL', DEFAULT_SERVER)}."
        )
    return out


def cache_reference_dir(crds_path: str | os.PathLike | None = None) -> Path | None:
    """The folder of MIRI references in a CRDS cache, or None when there is no cache."""
    root = crds_path or os.environ.get("CRDS_PATH")
    if not root:
        return None
    folder = Path(root).expanduser() / "references" / "jwst" / "miri"
    return folder if folder.is_dir() else None


def _matches(ref: fits.Header, exposure) -> bool:
    for key in SELECTION_KEYS:
        want = str(exposure.get(key, "")).strip().upper()
        have = str(ref.get(key, "")).strip().upper()
        if have in WILDCARDS or not want:
            continue
        if key == "SUBARRAY" and have == "FULL":
            continue  # full-frame references are cut to the subarray by the loaders
        if want not in {h.strip() for h in have.split("|")}:
            return False
    return True


def find_in_cache(header, reftype: str, crds_path=None) -> Path | None:
    """The best matching `reftype` file in the local CRDS cache, or None."""
    folder = cache_reference_dir(crds_path)
    if folder is None:
        return None
    date = f"{header.get('DATE-OBS', '9999-12-31')}T{header.get('TIME-OBS', '23:59:59')}"
    best: tuple[str, Path] | None = None
    for path in sorted(folder.glob(f"jwst_miri_{reftype}_*")):
        if path.suffix not in (".fits", ".asdf"):
            continue
        try:
            ref = _reference_header(path)
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable CRDS cache file %s (%s)", path, exc)
            continue
        if str(ref.get("REFTYPE", "")).strip().lower() != reftype:
            continue
        useafter = str(ref.get("USEAFTER", "1900-01-01T00:00:00"))
        if useafter <= date and _matches(ref, header) and (best is None or useafter > best[0]):
            best = (useafter, path)
    return None if best is None else best[1]


def _reference_header(path: Path) -> dict:
    """Selection keywords of a FITS or ASDF reference file."""
    if path.suffix == ".fits":
        return dict(fits.getheader(path))
    # the YAML alone: asdf.open would first import every installed ASDF extension (~2 s)
    meta = read_yaml(path).get("meta", {})
    inst = meta.get("instrument", {})
    return {
        "REFTYPE": meta.get("reftype", ""),
        "USEAFTER": meta.get("useafter", "1900-01-01T00:00:00"),
        "INSTRUME": inst.get("name", ""),
        "DETECTOR": inst.get("detector", ""),
    }


def server_reachable(url: str, timeout: float = 3.0) -> bool:
    """True when a TCP connection to the server's host and port opens within `timeout`."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _from_server(header, reftypes, crds_path=None) -> dict[str, Path]:
    """Ask the CRDS server (via the `crds` client) for best references; {} when unreachable."""
    url = os.environ.get("CRDS_SERVER_URL", DEFAULT_SERVER)
    if not server_reachable(url):
        log.info("CRDS server %s not reachable; using overrides and the cache only", url)
        return {}
    try:
        import crds
    except ImportError:
        log.warning("the crds client is not installed (pip install 'exolrs[jwst]')")
        return {}
    if crds_path:
        os.environ["CRDS_PATH"] = str(crds_path)
    os.environ.setdefault("CRDS_PATH", str(Path.home() / "crds_cache"))
    os.environ["CRDS_SERVER_URL"] = url
    params = {f"meta.{k}": v for k, v in _crds_parameters(header).items()}
    try:
        best = crds.getreferences(params, reftypes=list(reftypes), observatory="jwst")
    except Exception as exc:  # crds raises many types for network and rule problems
        log.warning("CRDS server lookup failed: %s", exc)
        return {}
    return {
        k: Path(v)
        for k, v in best.items()
        if isinstance(v, str) and not v.upper().startswith("NOT FOUND")
    }


def _crds_parameters(header) -> dict:
    """The exposure keywords CRDS needs to choose JWST MIRI references."""
    keys = {
        "instrument.name": "INSTRUME",
        "instrument.detector": "DETECTOR",
        "instrument.filter": "FILTER",
        "subarray.name": "SUBARRAY",
        "exposure.type": "EXP_TYPE",
        "exposure.readpatt": "READPATT",
        "observation.date": "DATE-OBS",
        "observation.time": "TIME-OBS",
        "telescope": "TELESCOP",
    }
    return {name: header[key] for name, key in keys.items() if key in header}
