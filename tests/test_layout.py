"""The package's layout holds: imports flow one way (cli → pipeline → stages → floor), every
tutorial step has the one shape of `exolrs.step.Step`."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import exolrs

SRC = Path(exolrs.__file__).parent

# layer of each top-level module or package: a module may import only its own layer's
# package or lower layers (stages additionally only earlier stages)
LAYERS = {
    "cli": 5,
    "pipeline": 4,
    "report": 4,
    "quicklook": 4,
    "fetch": 4,
    "stage1": 3,
    "stage2": 3,
    "stage3": 3,
    "stage4": 3,
    "plots": 2,
    "step": 1,
    "io": 1,
    "refs": 1,
    "config": 1,
    "parallel": 1,
    "dq": 0,
    "stats": 0,
    "timing": 0,
    "errors": 0,
    "__init__": 0,
}


def _imports(path: Path) -> set[str]:
    """Top-level exolrs parts (`stage1`, `io`, …) that a file imports."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("exolrs"):
            parts = node.module.split(".")
            if len(parts) > 1:
                out.add(parts[1])
            else:  # from exolrs import refs, stage1 …
                out.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("exolrs."))
    return out


def _part(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def test_imports_flow_one_way():
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        part = _part(path)
        for target in _imports(path) - {part}:
            if part == "simulate":
                if target == "errors":  # the one user-error type, no reduction code
                    continue
                wrong.append(f"{path.relative_to(SRC)} → {target} (the simulator is apart)")
            elif target not in LAYERS:
                continue
            elif LAYERS[target] > LAYERS[part]:
                wrong.append(f"{path.relative_to(SRC)} → {target}")
            elif part.startswith("stage") and target.startswith("stage") and target > part:
                wrong.append(f"{path.relative_to(SRC)} → {target} (a later stage)")
    assert not wrong, "imports running back up:\n" + "\n".join(wrong)


def test_the_layer_table_knows_every_part():
    parts = {_part(p) for p in SRC.rglob("*.py")} - {"simulate"}
    assert parts <= set(LAYERS), parts - set(LAYERS)


def _tutorial_steps():
    from exolrs import stage1, stage2, stage3, stage4

    for stage in (stage1, stage2, stage3, stage4):
        for name in stage.__all__:
            if name.endswith("Step"):
                yield getattr(stage, name)


@pytest.mark.parametrize("cls", list(_tutorial_steps()), ids=lambda c: c.__name__)
def test_every_step_has_the_one_shape(cls):
    from exolrs.step import Step

    assert issubclass(cls, Step)
    assert cls.run is Step.run  # one reuse-or-recompute rule, nobody overrides it
    init = inspect.signature(cls.__init__).parameters
    assert list(init)[:5] == ["self", "input_data", "output_dir", "references", "crds_path"]
    assert cls.suffix and cls.name
