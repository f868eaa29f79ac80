"""Sphinx configuration of the exolrs documentation.

Build offline, warnings as errors:

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The tutorial notebook is executed during the build (myst-nb); the run-file reference is
generated from the pydantic schema in ``exolrs.config`` (``_ext/exolrs_runfile.py``).
"""

import sys
from pathlib import Path

import exolrs

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "exolrs"
author = "exolrs developers"
copyright = "2026, exolrs developers"
version = release = exolrs.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
    "exolrs_runfile",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "_ext"]

# --- MyST and the notebook ----------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
nb_execution_mode = "force"  # the site always shows a fresh run of the tutorial
nb_execution_in_temp = True  # its products go to a temporary folder, not into docs/
nb_execution_timeout = 900
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_merge_streams = True

# --- API reference ------------------------------------------------------------------------
autosummary_generate = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

# --- HTML ---------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"exolrs {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"**": []}  # every page is top level: the header and the home page navigate
html_show_sourcelink = False
