"""The documentation site: it builds offline with warnings as errors, the tutorial notebook
runs to the end with its figures and spectrum, and every internal link resolves.

The Sphinx build executes the tutorial (myst-nb), so the notebook runs once per test
session: the first test process to need the site builds it, the other waits for it and
reads the same result.
"""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
NOTEBOOK = "tutorial_miri_lrs"


def _build(out: Path) -> dict:
    html, doctrees = out / "html", out / "doctrees"
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        "-d",
        str(doctrees),
        str(DOCS),
        str(html),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    return {"returncode": proc.returncode, "output": proc.stdout + proc.stderr, "html": str(html)}


@pytest.fixture(scope="session")
def site(tmp_path_factory, request) -> dict:
    """The built site, shared by the test processes of this session."""
    if not hasattr(request.config, "workerinput"):  # not under xdist
        return _build(tmp_path_factory.mktemp("site"))
    shared = tmp_path_factory.getbasetemp().parent  # one per session, common to the workers
    record = shared / "docs_site.json"
    with open(shared / "docs_site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            record.write_text(json.dumps(_build(shared / "docs_site")))
    return json.loads(record.read_text())


def _built(site: dict) -> Path:
    assert site["returncode"] == 0, f"the site did not build:\n{site['output'][-6000:]}"
    return Path(site["html"])


def test_site_builds_offline_with_warnings_as_errors(site):
    html = _built(site)
    pages = {p.stem for p in html.glob("*.html")}
    expected = {
        "index",
        "install",
        NOTEBOOK,
        "runfile",
        "api",
        "symptoms",
        "stages",
        "stage1",
        "stage2",
        "stage3",
        "stage4",
        "mast_products",
        "distributed",
        "architecture",
        "simulator",
        "validation",
        "benchmarks",
    }
    assert expected <= pages
    api = (html / "api.html").read_text()
    for name in (
        "DQInitStep",
        "PCAReconstructStep",
        "Extract1DStep",
        "FitLightCurvesStep",
        "simulate_tso",
        "run_stage1",
    ):
        assert name in api, name
    # every image a page refers to was copied into the site
    for page in html.glob("*.html"):
        for src in re.findall(r'<img [^>]*src="([^"]+)"', page.read_text()):
            if not src.startswith(("http", "data:")):
                assert (page.parent / src).is_file(), f"{page.name}: {src}"


def test_runfile_reference_has_every_key_of_the_schema(site):
    from exolrs.config import RunConfig

    text = (_built(site) / "runfile.html").read_text()

    def keys(model, prefix=""):
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                yield from keys(ann, f"{prefix}{name}.")
            else:
                yield name, field

    for name, field in keys(RunConfig):
        assert f'<code class="docutils literal notranslate"><span class="pre">{name}' in text
        assert field.description.split(" ")[0] in text, name
    assert "exolrs run file — every key with its default" in text  # the template itself


def test_tutorial_runs_to_the_spectrum_with_its_figures(site):
    import nbformat

    html = _built(site)
    executed = list(html.parent.rglob(f"{NOTEBOOK}.ipynb"))
    executed = [p for p in executed if "jupyter_execute" in p.parts] or executed
    assert executed, "the build kept no executed copy of the tutorial"
    nb = nbformat.read(executed[0], as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    # quick look, 5 of Stage 1, the cube, 1 + 2 PCA, 2 of Stage 3, 3 + corner of Stage 4,
    # the spectrum
    assert len(images) >= 17, len(images)
    (last,) = [c for c in nb.cells if c.cell_type == "code" and "transit depth" in c.source]
    assert any("image/png" in o.get("data", {}) for o in last.outputs), "no spectrum figure"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "300 integrations" in text
    m = re.search(r"χ²ν = ([0-9.]+), mean bias = ([-+][0-9.]+) σ over (\d+) channels", text)
    assert m, text[-2000:]
    assert 0.2 < float(m[1]) < 5 and int(m[3]) >= 10
    page = (html / f"{NOTEBOOK}.html").read_text()
    assert page.count("<img") >= len(images)


_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_INCLUDE = re.compile(r"^```\{include\}\s+(\S+)", re.M)


def _relative_links(path: Path):
    text = re.sub(r"^```(?!\{).*?^```", "", path.read_text(), flags=re.M | re.S)  # code
    for target in _LINK.findall(text) + _INCLUDE.findall(text):
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#"):
            yield target.split("#")[0]


@pytest.mark.parametrize(
    "page",
    sorted(p.relative_to(ROOT).as_posix() for p in [*DOCS.glob("*.md"), ROOT / "README.md"]),
)
def test_internal_links_resolve(page):
    path = ROOT / page
    missing = [t for t in _relative_links(path) if not (path.parent / t).exists()]
    assert not missing, f"{page} links to missing files: {missing}"


def test_notebook_is_stored_without_outputs():
    nb = json.loads((DOCS / f"{NOTEBOOK}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
