"""Reference resolution: override → local CRDS cache → CRDS server → a clear error."""

from __future__ import annotations

import shutil
import socket

import pytest
from astropy.io import fits

from exolrs.errors import ExolrsError
from exolrs.refs import find_in_cache, get_references, server_reachable


@pytest.fixture(scope="module")
def header(tiny_sim):
    return dict(fits.getheader(tiny_sim["uncal"][0]))


@pytest.fixture
def cache(tiny_sim, tmp_path):
    """A CRDS-layout cache ($CRDS_PATH/references/jwst/miri) holding the simulated refs."""
    folder = tmp_path / "crds" / "references" / "jwst" / "miri"
    folder.mkdir(parents=True)
    for p in tiny_sim["refs"].values():
        shutil.copy(p, folder)
    return tmp_path / "crds"


@pytest.fixture
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_override_wins(tiny_sim, header, cache):
    rs = get_references(
        header, ["dark", "mask"], overrides={"dark": tiny_sim["refs"]["dark"]}, crds_path=cache
    )
    assert rs.sources == {"dark": "override", "mask": "crds-cache"}
    assert rs.paths["dark"] == tiny_sim["refs"]["dark"]


def test_missing_override_path_is_named(header, tmp_path):
    with pytest.raises(ExolrsError, match=r"reference file for 'gain' not found"):
        get_references(header, ["gain"], overrides={"gain": tmp_path / "gone.fits"})


def test_cache_lookup_via_environment(header, cache, monkeypatch):
    monkeypatch.setenv("CRDS_PATH", str(cache))
    rs = get_references(header, ["mask", "emicorr", "specwcs", "linearity"], use_server=False)
    assert set(rs.sources.values()) == {"crds-cache"}
    assert rs.paths["emicorr"].suffix == ".asdf"


def test_cache_prefers_latest_matching_useafter(header, cache):
    folder = cache / "references" / "jwst" / "miri"
    newer = folder / "jwst_miri_gain_0099.fits"
    shutil.copy(folder / "jwst_miri_gain_exolrssim.fits", newer)
    fits.setval(newer, "USEAFTER", value="2022-06-01T00:00:00")
    future = folder / "jwst_miri_gain_0100.fits"
    shutil.copy(newer, future)
    fits.setval(future, "USEAFTER", value="2099-01-01T00:00:00")
    wrong = folder / "jwst_miri_gain_0101.fits"
    shutil.copy(newer, wrong)
    fits.setval(wrong, "USEAFTER", value="2022-07-01T00:00:00")
    fits.setval(wrong, "DETECTOR", value="MIRIFULONG")
    assert find_in_cache(header, "gain", cache) == newer


def test_unresolvable_reftype_names_it_and_the_fix(header, tmp_path, monkeypatch, closed_port):
    monkeypatch.setenv("CRDS_SERVER_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.delenv("CRDS_PATH", raising=False)
    with pytest.raises(ExolrsError, match=r"no reference file for dark.*references:"):
        get_references(header, ["dark"], crds_path=tmp_path)


def test_optional_reftype_may_stay_unresolved(header, tmp_path, monkeypatch, closed_port):
    monkeypatch.setenv("CRDS_SERVER_URL", f"http://127.0.0.1:{closed_port}")
    assert get_references(header, ["reset"], crds_path=tmp_path, optional=["reset"]).paths == {}


def test_server_reachability_probe(closed_port):
    assert not server_reachable(f"http://127.0.0.1:{closed_port}", timeout=1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert server_reachable(f"http://127.0.0.1:{s.getsockname()[1]}", timeout=1)
