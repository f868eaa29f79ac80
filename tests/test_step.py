"""The Step base: reuse-or-recompute, save, plot, references — on a toy step."""

from __future__ import annotations

import numpy as np
import pytest

from exolrs.step import Step


class Double(Step):
    """Doubles an array saved as `<root>_double.npy`."""

    suffix, name = "double", "Double"
    calls = 0

    def load(self, input_data):
        return np.load(input_data) if not isinstance(input_data, np.ndarray) else input_data

    def expected_outputs(self, params):
        return [self.output_dir / f"x_{self.suffix}.npy"]

    def reuse(self, paths):
        return np.load(paths[0])

    def apply(self, data, factor=2.0):
        Double.calls += 1
        return data * factor

    def save(self, result, data):
        np.save(self.expected_outputs({})[0], result)
        return result

    def plot(self, data, result):
        path = self.output_dir / "x_double.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")
        return [path]


def test_run_saves_then_reuses_then_recomputes_when_asked(tmp_path):
    Double.calls = 0
    x = np.arange(3.0)
    out = Double(x, output_dir=tmp_path / "o").run()
    np.testing.assert_array_equal(out, 2 * x)
    assert (tmp_path / "o" / "x_double.npy").exists() and Double.calls == 1
    again = Double(x, output_dir=tmp_path / "o").run(factor=5.0)
    np.testing.assert_array_equal(again, 2 * x)  # reused: the saved product
    assert Double.calls == 1
    redo = Double(x, output_dir=tmp_path / "o").run(force_redo=True, factor=5.0)
    np.testing.assert_array_equal(redo, 5 * x)
    assert Double.calls == 2


def test_constructor_kwargs_are_defaults_of_run(tmp_path):
    step = Double(np.ones(2), output_dir=tmp_path, factor=3.0)
    np.testing.assert_array_equal(step.run(save_results=False), [3.0, 3.0])
    np.testing.assert_array_equal(step.run(save_results=False, factor=4.0), [4.0, 4.0])


def test_unsaved_run_writes_nothing_but_the_asked_figures(tmp_path):
    step = Double(np.ones(2), output_dir=tmp_path / "o")
    step.run(save_results=False)
    assert not (tmp_path / "o").exists()
    step.run(save_results=False, do_plot=True)
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["x_double.png"]
    assert step.figures == [tmp_path / "o" / "x_double.png"]


def test_reference_paths_take_the_overrides(tmp_path):
    ref = tmp_path / "my_flat.fits"
    ref.write_bytes(b"")
    step = Double(np.ones(1), references={"flat": ref})
    header = {"INSTRUME": "MIRI", "DETECTOR": "MIRIMAGE", "SUBARRAY": "SLITLESSPRISM"}
    assert step.reference_paths(header, ["flat"]) == {"flat": ref}


def test_a_step_without_apply_says_so():
    with pytest.raises(NotImplementedError):
        Step(np.ones(1)).run(save_results=False)
