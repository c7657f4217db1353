import warnings

import pytest

import vsovermix as vo
from vsovermix import backend as backend_module
from vsovermix.backend import ENV_VAR, Backend, CupyProbe, NumpyPlaneIO, plane_io, resolve_backend, use_backend

UNUSABLE = CupyProbe(False, "CuPy finds no usable CUDA device (no NVIDIA driver is loaded)")
USABLE = CupyProbe(True, "", "14.2.0", 13020, 13020, "NVIDIA H100", 80 * 2**30)


@pytest.fixture
def probe(monkeypatch):
    """Pretend the CuPy probe found (or did not find) a GPU; resets the one-warning flag."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    backend_module._fallback_warned.clear()

    def set_probe(result: CupyProbe) -> None:
        monkeypatch.setattr(backend_module, "probe_cupy", lambda: result)

    return set_probe


def test_numpy_is_never_probed(probe):
    probe(USABLE)
    assert resolve_backend("numpy", "steam") is Backend.NUMPY


def test_auto_uses_cupy_when_the_probe_succeeds(probe):
    probe(USABLE)
    assert resolve_backend("auto", "steam") is Backend.CUPY


def test_auto_falls_back_to_numpy_with_exactly_one_warning(probe):
    probe(UNUSABLE)
    with pytest.warns(RuntimeWarning, match="no usable GPU.*using the NumPy backend"):
        assert resolve_backend("auto", "steam") is Backend.NUMPY
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_backend(Backend.AUTO, "steam") is Backend.NUMPY  # second time: silent


def test_explicit_cupy_without_gpu_raises_with_reason_and_install_line(probe):
    probe(UNUSABLE)
    with pytest.raises(vo.BackendUnavailableError) as info:
        resolve_backend("cupy", "steam")
    message = str(info.value)
    assert message.startswith("(vsovermix.steam) backend='cupy' was asked for, but CuPy finds no usable CUDA device")
    assert 'pip install "vsovermix[cuda12]"' in message and "backend='numpy'" in message
    assert isinstance(info.value, RuntimeError)


def test_environment_variable_sets_the_default(probe, monkeypatch):
    probe(USABLE)
    monkeypatch.setenv(ENV_VAR, "numpy")
    assert resolve_backend("auto", "steam") is Backend.NUMPY
    assert resolve_backend("cupy", "steam") is Backend.CUPY  # an explicit argument wins
    monkeypatch.setenv(ENV_VAR, "tpu")
    with pytest.raises(vo.InvalidArgumentError, match=f"the environment variable {ENV_VAR} must be one of"):
        resolve_backend("auto", "steam")


def test_context_manager_overrides_environment_and_nests(probe, monkeypatch):
    probe(USABLE)
    monkeypatch.setenv(ENV_VAR, "cupy")
    with use_backend("numpy"):
        assert resolve_backend("auto", "steam") is Backend.NUMPY
        with use_backend("auto"):
            assert resolve_backend("auto", "steam") is Backend.CUPY
        assert resolve_backend("auto", "steam") is Backend.NUMPY
    assert resolve_backend("auto", "steam") is Backend.CUPY


def test_unknown_backend_is_refused(probe):
    with pytest.raises(vo.InvalidArgumentError, match=r"\(vsovermix\.steam\) backend must be one of 'auto', 'cupy'"):
        resolve_backend("gpu", "steam")
    with pytest.raises(vo.InvalidArgumentError, match=r"\(vsovermix\.use_backend\) backend must be one of"), \
            use_backend("gpu"):
        pass


def test_real_probe_never_raises_and_explains_itself():
    result = backend_module.probe_cupy()
    assert result.usable or result.reason


def test_numpy_plane_io_writes_in_place():
    io = plane_io(Backend.NUMPY, cache_planes=4, func="steam")
    assert isinstance(io, NumpyPlaneIO)
    import numpy as np

    host = np.arange(6).reshape(2, 3)
    assert io.to_array((0, 0), host) is host
    out = np.zeros((2, 3), int)
    assert io.output_for(out) is out
    io.to_host(host, out)
    np.testing.assert_array_equal(out, host)
