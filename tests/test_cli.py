import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vsovermix._png import read_png
from vsovermix.cli import doctor_report, main

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_doctor_reports_everything_the_issue_lists(capsys):
    labels = [label for label, _ in doctor_report()]
    for wanted in ("python", "vapoursynth core", "vapoursynth api", "plugin namespaces", "numpy", "scipy", "cupy",
                   "cuda runtime", "cuda driver", "gpu"):
        assert wanted in labels
    assert any(label.startswith("backend auto resolves to") for label in labels)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "std" in out and ("numpy" in out or "cupy" in out)


def test_demo_writes_its_files_and_improves_psnr(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    assert main(["demo", "--output-dir", str(out_dir), "--frames", "8", "--tr", "1", "--backend", "numpy"]) == 0
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["pan_frame0.png", "pan_side_by_side.png", "pan_still.png", "pan_truth.png", "report.txt",
                     "steam_clean.png", "steam_input.png", "steam_output.png", "steam_side_by_side.png",
                     "telecine_side_by_side.png"]
    assert list(tmp_path.iterdir()) == [out_dir]  # nothing written outside its folder
    out = capsys.readouterr().out
    assert "PSNR against the clean frames" in out and "offset error median" in out
    report = (out_dir / "report.txt").read_text()
    before = float(report.split("before ")[1].split(" dB")[0])
    after = float(report.split("after ")[1].split(" dB")[0])
    assert after > before + 3.0, report
    side = read_png(out_dir / "steam_side_by_side.png")
    assert side.shape[1] > 3 * read_png(out_dir / "steam_input.png").shape[1]
    # The pan went through x264 with steam on it: still measured to hundredths, and the still is much
    # closer to the clean scene than any frame.
    median_error = float(report.split("offset error: median ")[1].split(" px")[0])
    one_frame = float(report.split("one frame ")[1].split(" dB")[0])
    still = float(report.split("the still ")[1].split(" dB")[0])
    assert median_error < 0.02 and still > one_frame + 6.0, report
    assert read_png(out_dir / "pan_still.png").shape == read_png(out_dir / "pan_truth.png").shape
    # The telecined film with a mid-cycle cut comes back as film frames: no duplicate, no combed frame.
    line = report.split("frames in (")[1]
    frames_out = int(line.split("-> ")[1].split(" out")[0])
    exact = int(line.split("out: ")[1].split(" film")[0])
    interpolated = int(line.split("duplicates, ")[1].split(" interpolated")[0])
    assert "0 duplicates" in line and exact + interpolated == frames_out, report


def test_demo_rejects_out_of_range_options(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--tr", "9"])
    assert "--tr in [1, 3]" in capsys.readouterr().err


def run_in_own_group(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run`` whose timeout kills the whole process group: the venv's ``vspipe`` is a Python
    wrapper that starts the real vspipe, which a plain timeout would leave running."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                          **kwargs) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.parametrize("script", sorted((ROOT / "scripts" / "examples").glob("*.vpy")), ids=lambda p: p.name)
def test_example_scripts_render_with_vspipe_from_an_unactivated_venv(script):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV",)}
    env["PATH"] = "/usr/bin:/bin"  # the venv is not on PATH: vspipe must work after `vapoursynth config`
    env["VSOVERMIX_BACKEND"] = "numpy"
    done = run_in_own_group([str(BIN / "vspipe"), "-e", "3", str(script), "--"], timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_run_where_every_test_skips_fails():
    # tests/conftest.py turns an all-skipped session into a failure, so CI can never be green on nothing.
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/ops/test_temporal.py", "-k", "cupy"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    if "passed" in done.stdout.splitlines()[-1]:
        pytest.skip("a GPU is present here, so the CuPy tests ran")
    assert done.returncode != 0
    assert "every test was skipped" in done.stdout
