"""Download a program's `*_uncal.fits` segments from MAST.

`query_uncal_products` asks MAST through astroquery (`Observations.query_criteria` and
`get_product_list`) for the uncal products of a program / target / instrument / filter;
`plan_downloads` turns that product table into (file name, URL, size); `download_files` fetches
them over HTTP(S) with a progress callback, resuming partial downloads with HTTP Range
requests, writing to `<name>.part` and renaming only when the size matches the expected one.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from exolrs.errors import ExolrsError

MAST_DOWNLOAD = "https://mast.stsci.edu/api/v0.1/Download/file?uri="
CHUNK = 1 << 20


@dataclass
class Download:
    name: str
    url: str
    size: int | None


def query_uncal_products(
    program: int | str,
    target: str | None = None,
    instrument: str = "MIRI/SLITLESS",
    filters: str = "P750L",
):
    """Product table of the program's uncal files (astroquery; needs network access)."""
    try:
        from astroquery.mast import Observations
    except ImportError:
        raise ExolrsError(
            "fetching from MAST needs astroquery: pip install 'exolrs[fetch]'"
        ) from None
    criteria = {
        "proposal_id": str(program),
        "instrument_name": instrument,
        "filters": filters,
        "obs_collection": "JWST",
    }
    if target:
        criteria["target_name"] = target
    try:
        obs = Observations.query_criteria(**criteria)
        if len(obs) == 0:
            raise ExolrsError(
                f"MAST has no observation for {criteria}; check the program, "
                "target, instrument and filter"
            )
        products = Observations.get_product_list(obs)
    except ExolrsError:
        raise
    except Exception as exc:
        raise ExolrsError(f"MAST query failed ({exc}); check the network or try later") from None
    return Observations.filter_products(products, productSubGroupDescription="UNCAL")


def plan_downloads(products, base_url: str = MAST_DOWNLOAD) -> list[Download]:
    """(name, URL, size) of each uncal product, segments in order, duplicates removed."""
    seen, out = set(), []
    for row in products:
        name = str(row["productFilename"])
        if not name.endswith("_uncal.fits") or name in seen:
            continue
        seen.add(name)
        size = row["size"] if "size" in row.colnames else None
        out.append(
            Download(name, base_url + str(row["dataURI"]), None if size is None else int(size))
        )
    if not out:
        raise ExolrsError("the MAST product list holds no *_uncal.fits file")
    return sorted(out, key=lambda d: d.name)


def _open(url: str, start: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": "exolrs"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)


def download_file(
    item: Download,
    folder: Path,
    progress: Callable[[int], None] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch one file, resuming `<name>.part`; returns the final path."""
    if not item.url.startswith(("http://", "https://")):
        raise ExolrsError(f"refusing to download from {item.url!r}: only http(s) URLs")
    final = folder / item.name
    if final.exists() and (item.size is None or final.stat().st_size == item.size):
        if progress:
            progress(final.stat().st_size)
        return final
    part = folder / f"{item.name}.part"
    start = part.stat().st_size if part.exists() else 0
    if item.size is not None and start > item.size:
        part.unlink()
        start = 0
    try:
        with _open(item.url, start, timeout) as response:
            if start and response.status != 206:  # server ignored the range: start over
                start = 0
            mode = "ab" if start else "wb"
            if progress:
                progress(start)
            with open(part, mode) as fh:
                while block := response.read(CHUNK):
                    fh.write(block)
                    if progress:
                        progress(len(block))
    except (urllib.error.URLError, OSError) as exc:
        raise ExolrsError(
            f"download of {item.name} failed ({getattr(exc, 'reason', exc)}); run the same "
            "command again to resume"
        ) from None
    got = part.stat().st_size
    if item.size is not None and got != item.size:
        raise ExolrsError(
            f"{item.name}: received {got} of {item.size} bytes; run the same command again to "
            "resume"
        )
    os.replace(part, final)
    return final


def download_files(items: list[Download], folder, progress=None) -> list[Path]:
    """Fetch every file into `folder` (created); `progress(bytes)` after each block."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [download_file(item, folder, progress) for item in items]
