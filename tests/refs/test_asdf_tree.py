"""The extension-free ASDF reader gives what `asdf.open` gives, or hands over to it."""

from __future__ import annotations

import asdf
import numpy as np
import pytest

import exolrs.refs as R
from exolrs.errors import ExolrsError
from exolrs.refs.asdf_tree import read_tree


def _reference(path):
    """asdf.open's tree (the oracle), arrays as numpy."""
    with asdf.open(path, lazy_load=False, memmap=False) as af:
        return _numpy(af.tree)


def _numpy(node):
    if isinstance(node, dict):
        return {k: _numpy(v) for k, v in node.items() if k not in ("asdf_library", "history")}
    if isinstance(node, list):
        return [_numpy(v) for v in node]
    if hasattr(node, "__array__") and not isinstance(node, str | int | float):
        return np.asarray(node)
    return node


def _same(a, b):
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def _mine(path):
    tree = read_tree(path)
    return {k: v for k, v in tree.items() if k not in ("asdf_library", "history")}


@pytest.fixture()
def arrays():
    rng = np.random.default_rng(3)
    return {
        "little": rng.normal(size=500).astype("<f4"),
        "big": rng.normal(size=(3, 7)).astype(">f8"),
        "ints": np.arange(12, dtype=np.int16).reshape(4, 3),
        "nested": {"wave": rng.normal(size=5).astype(np.float32), "freq": 390.625},
        "names": ["Hz390", "Hz218a"],
    }


def test_simulated_emicorr_reference_matches_asdf_open(tiny_sim):
    path = tiny_sim["refs"]["emicorr"]
    _same(_mine(path), _reference(path))


def test_several_blocks_byte_orders_and_shapes(tmp_path, arrays):
    path = tmp_path / "many.asdf"
    asdf.AsdfFile(arrays).write_to(path)
    mine = _mine(path)
    _same(mine, _reference(path))
    assert mine["big"].dtype == np.dtype(">f8")  # as stored


def test_inline_arrays(tmp_path):
    path = tmp_path / "inline.asdf"
    asdf.AsdfFile({"a": np.arange(4.0)}).write_to(path, all_array_storage="inline")
    _same(_mine(path), _reference(path))


def test_compressed_blocks_go_to_asdf_open(tmp_path, arrays):
    path = tmp_path / "zlib.asdf"
    asdf.AsdfFile(arrays).write_to(path, all_array_compression="zlib")
    _same(_mine(path), _reference(path))


def test_truncated_reference_is_a_clear_error(tiny_sim, tmp_path):
    good = tiny_sim["refs"]["emicorr"]
    bad = tmp_path / "jwst_miri_emicorr_cut.asdf"
    raw = good.read_bytes()
    bad.write_bytes(raw[: len(raw) - 1000])
    with pytest.raises(ValueError, match=r"past the end|shorter"):
        read_tree(bad)
    with pytest.raises(ExolrsError, match="cannot read the EMICORR reference"):
        R.load_emicorr(bad)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"hello world\x00 not asdf", "not an ASDF file"),
        (b"#ASDF 1.0.0\n%YAML 1.1\n--- !core/asdf-1.1.0\na: [1, 2\n...\n", "does not parse"),
    ],
)
def test_not_asdf_is_a_value_error(tmp_path, content, match):
    path = tmp_path / "jwst_miri_emicorr_bad.asdf"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        read_tree(path)
