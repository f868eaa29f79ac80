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
    again = Double(x, output_dir=tmp_path / "o").run()
    np.testing.assert_array_equal(again, 2 * x)  # reused: the saved product
    assert Double.calls == 1
    redo = Double(x, output_dir=tmp_path / "o").run(force_redo=True)
    np.testing.assert_array_equal(redo, 2 * x)
    assert Double.calls == 2


def test_a_changed_parameter_or_input_recomputes_and_says_so(tmp_path, caplog):
    Double.calls = 0
    x = np.arange(3.0)
    Double(x, output_dir=tmp_path).run()
    with caplog.at_level("WARNING"):
        changed = Double(x, output_dir=tmp_path).run(factor=5.0)
    np.testing.assert_array_equal(changed, 5 * x)  # not the product made with factor 2
    assert Double.calls == 2
    assert "Double: parameters (factor: None → 5.0) changed" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        other = Double(x + 1, output_dir=tmp_path).run(factor=5.0)  # the upstream changed
    np.testing.assert_array_equal(other, 5 * (x + 1))
    assert "Double: input files changed" in caplog.text
    Double(x + 1, output_dir=tmp_path).run(factor=5.0)
    assert Double.calls == 3  # the same again: reused


def test_fingerprints_see_a_changed_array_file_or_product(tmp_path):
    from exolrs.io.provenance import fingerprint
    from exolrs.io.ramps import RampProduct

    a = np.zeros((64, 64, 64), np.float32)
    base = fingerprint(a)
    b = a.copy()
    b[10:20] = 1.0
    assert fingerprint(b) != base and fingerprint(a.copy()) == base
    f = tmp_path / "x.fits"
    f.write_bytes(b"1")
    first = fingerprint([f])
    f.write_bytes(b"22")
    assert fingerprint([f]) != first
    from astropy.io import fits

    def product(data, history):
        return RampProduct(
            data, np.zeros(1, np.uint8), np.zeros(1), fits.Header(), None, "r", history=history
        )

    p = fingerprint(product(a, ["DQInit"]))
    assert fingerprint(product(a, ["DQInit", "Saturation"])) != p
    assert fingerprint(product(b, ["DQInit"])) != p


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
