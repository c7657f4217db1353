"""Every kernel source compiles to PTX for sm_90 with nvcc, so no kernel lands uncompiled.

Runs wherever nvcc is (no GPU needed); the instantiations are the ones the launch wrappers ask NVRTC for.
"""

import os
import shutil
import subprocess

import pytest

from vsovermix._cuda import KERNEL_DIR, SAMPLE_INSTANTIATIONS

NVCC = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if os.path.exists("/usr/local/cuda/bin/nvcc") else None)


def test_every_kernel_source_has_instantiations():
    assert sorted(p.name for p in KERNEL_DIR.glob("*.cu")) == sorted(SAMPLE_INSTANTIATIONS)


@pytest.mark.nvcc
@pytest.mark.skipif(NVCC is None, reason="nvcc not found")
@pytest.mark.parametrize("source", sorted(SAMPLE_INSTANTIATIONS))
def test_kernel_compiles_to_ptx_for_sm_90(tmp_path, source):
    # Taking each template kernel's address in host code forces nvcc to instantiate it.
    refs = "\n".join(f"static const void* vso_ref_{i} = (const void*)&{name};"
                     for i, name in enumerate(SAMPLE_INSTANTIATIONS[source]))
    unit = tmp_path / "unit.cu"
    unit.write_text(f'#include "{source}"\n{refs}\n')
    ptx = tmp_path / "unit.ptx"
    done = subprocess.run([NVCC, "-ptx", "-arch=sm_90", "-std=c++17", f"-I{KERNEL_DIR}", str(unit), "-o", str(ptx)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    entries = ptx.read_text().count(".entry")
    assert entries == len(SAMPLE_INSTANTIATIONS[source])
