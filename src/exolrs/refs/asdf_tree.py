"""A small ASDF reference file's tree, read without loading asdf's extensions.

`asdf.open` first imports every installed ASDF extension (asdf-astropy, gwcs, stdatamodels,
…): most of the 2.1 s Stage 1 spent loading its references on the full simulation, paid
again by every process that opens one (a dask worker, the CRDS cache scan); read this way,
the references load in 0.2 s (2026-12-02).  Reference trees such as EMICORR's hold only
plain YAML and ndarrays, so the YAML is read with `asdf.util.load_yaml` (no extensions) and
each array from its binary block as the ASDF standard lays blocks out: the magic
``\\xd3BLK``, a big-endian 2-byte header size, then flags (4 bytes), compression (4),
allocated, used and data sizes (8 each) and a checksum; the data follow the header and the
next block follows the allocated space.  A file that needs more — compressed or streamed
blocks, external or strided arrays, masks — is read with `asdf.open` instead, so the result
never depends on which path read it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

_MAGIC = b"\xd3BLK"
_NDARRAY = "/core/ndarray-"


class _NeedsAsdf(Exception):
    """The file uses something this reader does not handle."""


def read_tree(path) -> dict:
    """The file's tree as plain dicts, lists and numpy arrays (little- or big-endian as
    stored).  Raises OSError or ValueError for an unreadable file."""
    import asdf

    raw = Path(path).read_bytes()
    try:
        return _resolve(_load_yaml(raw, Path(path).name, tagged=True), _blocks(raw))
    except _NeedsAsdf:
        with asdf.open(path, lazy_load=False, memmap=False) as af:
            return _plain(af.tree)


def read_yaml(path, tagged: bool = False) -> dict:
    """The file's YAML tree alone (arrays as their block references).  Raises ValueError
    for a file that is not ASDF or whose YAML does not parse."""
    return _load_yaml(Path(path).read_bytes(), Path(path).name, tagged)


def _load_yaml(raw: bytes, name: str, tagged: bool) -> dict:
    import asdf
    import yaml

    if not raw.startswith(b"#ASDF"):
        raise ValueError(f"{name} is not an ASDF file (no #ASDF header)")
    try:
        return asdf.util.load_yaml(io.BytesIO(raw), tagged=tagged)
    except yaml.YAMLError as exc:
        raise ValueError(f"{name}: its YAML tree does not parse ({exc})") from None


def _blocks(raw: bytes) -> list[memoryview]:
    """The data of every (uncompressed) binary block after the YAML tree, in order."""
    end = raw.find(b"\n...\n")
    pos = raw.find(_MAGIC, end) if end >= 0 else -1
    out: list[memoryview] = []
    view = memoryview(raw)
    while pos >= 0 and raw[pos : pos + 4] == _MAGIC:
        size = int.from_bytes(raw[pos + 4 : pos + 6], "big")
        head = raw[pos + 6 : pos + 6 + size]
        if len(head) < 48:
            raise ValueError(f"ASDF block header at byte {pos} is truncated")
        flags = int.from_bytes(head[0:4], "big")
        compression = head[4:8]
        allocated = int.from_bytes(head[8:16], "big")
        used = int.from_bytes(head[16:24], "big")
        if flags & 1 or compression != b"\0\0\0\0":  # streamed or compressed
            raise _NeedsAsdf
        start = pos + 6 + size
        if start + used > len(raw):
            raise ValueError(f"ASDF block at byte {pos} runs past the end of the file")
        out.append(view[start : start + used])
        pos = start + allocated
    return out


def _resolve(node, blocks):
    """Replace ndarray nodes by arrays; tagged dicts and lists by plain ones."""
    tag = getattr(node, "_tag", "") or ""
    if isinstance(node, dict):
        if _NDARRAY in tag:
            return _array(node, blocks)
        return {k: _resolve(v, blocks) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, blocks) for v in node]
    return node


def _array(node: dict, blocks) -> np.ndarray:
    if "data" in node and "source" not in node:  # an inline array
        return np.asarray(node["data"], dtype=node.get("datatype"))
    source, dtype, shape = node.get("source"), node.get("datatype"), node.get("shape")
    plain = {"source", "datatype", "byteorder", "shape"}
    if not isinstance(source, int) or not isinstance(dtype, str) or set(node) - plain:
        raise _NeedsAsdf
    if not all(isinstance(n, int) for n in shape):
        raise _NeedsAsdf
    if not 0 <= source < len(blocks):
        raise ValueError(f"ndarray refers to block {source}; the file has {len(blocks)}")
    order = ">" if node.get("byteorder") == "big" else "<"
    dt = np.dtype(dtype).newbyteorder(order)
    count = int(np.prod(shape, dtype=np.int64))
    if count * dt.itemsize > len(blocks[source]):
        raise ValueError(f"block {source} is shorter than its array {shape} {dtype}")
    return np.frombuffer(blocks[source], dt, count).reshape(shape).copy()


def _plain(node):
    """`asdf.open`'s tree as plain dicts, lists and arrays."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v) for v in node]
    if hasattr(node, "__array__") and not isinstance(node, np.ndarray | str | int | float):
        return np.asarray(node)
    return node
