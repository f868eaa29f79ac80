"""What made a stage's products: the identities of its input files (name, size, modification
time), its parameters, its reference files and the exolrs version, kept beside the products
as `<stage folder>/.exolrs_<stage>.json` (`stage3.box`: one record per variant of a
stage whose variants share a folder).  A rerun reuses the products only when the record
is the same; otherwise it says what changed, in one line, and recomputes."""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path


def _identity(path) -> list:
    p = Path(path)
    try:
        st = p.stat()
        return [p.name, st.st_size, st.st_mtime_ns]
    except OSError:
        return [p.name, None, None]


def _version() -> str:
    try:
        return metadata.version("exolrs")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def make_record(inputs, params: dict, references: dict | None = None) -> dict:
    """The provenance of a stage run: JSON-able, compared key by key on a rerun."""
    return {
        "exolrs": _version(),
        "inputs": [_identity(p) for p in inputs],
        "parameters": json.loads(json.dumps(params, default=str)),
        "references": {k: _identity(v) for k, v in sorted((references or {}).items()) if v},
    }


def digest(record: dict) -> str:
    """A short fingerprint of a record (16 hex digits), kept in each product's header as
    EXPROV so that a product can be matched to what made it on its own."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def product_digest(path) -> str | None:
    """The EXPROV fingerprint in a product's primary header (None when absent/unreadable)."""
    from astropy.io import fits

    try:
        return fits.getval(path, "EXPROV", 0)
    except (OSError, KeyError, ValueError, IndexError):
        return None


SAMPLED = 1 << 20  # elements of an array hashed for its fingerprint, at most


def fingerprint(obj):
    """What an input to a notebook step is, JSON-able and cheap: files by identity (name,
    size, modification time); arrays by shape, dtype and a hash of ≤ 2²⁰ evenly strided
    elements (a changed upstream parameter changes far more than that sampling can miss, and
    hashing a full 10 GB cube would cost more than most steps); products (dataclasses) field by
    field; lists element by element."""
    import dataclasses

    import numpy as np

    if isinstance(obj, str | os.PathLike):
        return _identity(obj)
    if isinstance(obj, np.ndarray):
        flat = obj.reshape(-1)
        sample = np.ascontiguousarray(flat[:: max(1, flat.size // SAMPLED)])
        return [list(obj.shape), str(obj.dtype), hashlib.blake2b(sample.tobytes()).hexdigest()[:16]]
    if isinstance(obj, list | tuple):
        return [fingerprint(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): fingerprint(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: fingerprint(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if hasattr(obj, "tostring") and hasattr(obj, "cards"):  # an astropy FITS header
        return hashlib.blake2b(obj.tostring().encode()).hexdigest()[:16]
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    return repr(obj)[:200]


def _path(output_dir, stage: str) -> Path:
    return Path(output_dir) / f".exolrs_{stage}.json"


def what_changed(output_dir, stage: str, record: dict) -> str | None:
    """None when the products in `output_dir` were made by `record`; else what differs (one
    phrase: the parameters that changed, or 'input files', 'reference files', 'exolrs
    version', or 'no record of what made them')."""
    path = _path(output_dir, stage)
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return "no record of what made them"
    if old == record:
        return None
    if old.get("parameters") != record["parameters"]:
        diff = _changed_keys(old.get("parameters", {}), record["parameters"])
        return "parameters (" + ", ".join(diff[:4]) + (" …" if len(diff) > 4 else "") + ")"
    for key, name in (
        ("inputs", "input files"),
        ("references", "reference files"),
        ("exolrs", "exolrs version"),
    ):
        if old.get(key) != record[key]:
            return name
    return "their record"


def _changed_keys(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} → {b!r}")
    return out


def reusable(output_dir, stage: str, record: dict, products, force_redo=False):
    """(reuse the products?, the one-line note when they are recomputed although present)."""
    if force_redo or not all(Path(p).exists() for p in products):
        return False, None
    why = what_changed(output_dir, stage, record)
    if why is None:
        return True, None
    name = stage.split(".")[0].replace("stage", "Stage ")
    return False, f"{name}: {why} changed since its products were made; recomputed"


def save_record(output_dir, stage: str, record: dict) -> Path:
    """Keep `record` beside the stage's products (written last: a stage that stopped early
    leaves no record, so its products are never reused)."""
    path = _path(output_dir, stage)
    tmp = path.with_name(f"{path.name}.part")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
    return path
