"""The one shape of every notebook step, as in the exoTEDRF tutorial:

    result = XStep(inputs, output_dir="StageN", references=refs).run(
        save_results=True, force_redo=False, do_plot=False, **params)

`inputs` are file names or the previous step's in-memory product.  `run` reuses the step's
saved products when they all exist and were made from the same inputs, parameters and
references (a record beside them, `.exolrs_step.<first product>.json`; a difference is said in one
line and recomputes), unless `force_redo`; otherwise it loads the inputs, applies
the stage's pure functions (`apply`), draws the step's figures into `output_dir` when
`do_plot`, and saves the products when `save_results` (nothing later ever needs them on
disk).  A step class only says how its product is loaded, computed, named and saved; the
per-stage bases live in each stage's `steps.py`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from exolrs.io.provenance import fingerprint, make_record, reusable, save_record

log = logging.getLogger(__name__)


class Step:
    """Base of every tutorial step.

    Parameters
    ----------
    input_data : file path(s) or the previous step's product.
    output_dir : where products and figures go (default: the current folder).
    references : reference-file overrides by reftype (``{"dark": "...fits"}``); the others
        come from ``crds_path`` / ``$CRDS_PATH`` / the CRDS server.
    crds_path : a local CRDS cache.
    **kwargs : default parameters of `run`.
    """

    name = ""  # shown in the log, e.g. "Jump"
    suffix = ""  # product suffix: <root>_<suffix>.fits

    def __init__(
        self,
        input_data,
        output_dir: str | os.PathLike | None = None,
        references: dict | None = None,
        crds_path: str | os.PathLike | None = None,
        **kwargs,
    ):
        self.input_data = input_data
        self.output_dir = Path(output_dir) if output_dir is not None else Path(".")
        self.references = references
        self.crds_path = crds_path
        self.kwargs = kwargs
        self.figures: list[Path] = []

    def run(
        self, save_results: bool = True, force_redo: bool = False, do_plot: bool = False, **params
    ):
        """Compute (or reuse) the step's products; returns them (or their paths, for steps
        whose product is a file)."""
        params = {**self.kwargs, **params}
        expected = self.expected_outputs(params)
        record = key = None
        if save_results and expected:
            record = make_record([], params, {**(self.references or {}), "crds": self.crds_path})
            record["step"] = self.name
            record["inputs"] = fingerprint(self.input_data)
            key = f"step.{expected[0].name}"
            reuse, note = reusable(self.output_dir, key, record, expected, force_redo)
            if reuse:
                log.info("%s: outputs exist, reusing them (force_redo=True recomputes)", self.name)
                return self.reuse(expected)
            if note:
                log.warning("%s", note.replace("step:", f"{self.name}:", 1))
        data = self.load(self.input_data)
        result = self.apply(data, **params)
        if do_plot:
            self.figures = self.plot(data, result)
        if save_results:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            out = self.save(result, data)
            if record is not None:
                save_record(self.output_dir, key, record)
            return out
        return result

    # --- what a step class provides ------------------------------------------------------
    def expected_outputs(self, params: dict) -> list[Path] | None:
        """The files `save` writes for these inputs and parameters (None: unknown, always
        recompute)."""
        return None

    def load(self, input_data):
        """The inputs as the in-memory product `apply` takes."""
        return input_data

    def apply(self, data, **params):  # pragma: no cover - abstract
        """The step itself: the stage's pure functions on the loaded product."""
        raise NotImplementedError

    def save(self, result, data):
        """Write the products of `result` (computed from the loaded `data`) under
        `output_dir`; returns what `run` hands on."""
        return result

    def reuse(self, paths: list[Path]):
        """The saved products, read back (what `run` returns when they are reused)."""
        return self.load(paths)

    def plot(self, data, result) -> list[Path]:
        """Diagnostic figures (PNG in `output_dir`); none by default."""
        return []

    def reference_paths(self, header, reftypes, optional=()) -> dict[str, Path]:
        """Paths of the reference files for `header`: override → CRDS cache → server."""
        from exolrs.refs import get_references

        return get_references(
            header,
            tuple(reftypes),
            overrides=self.references,
            crds_path=self.crds_path,
            optional=tuple(optional),
        ).paths
