"""The build: which CUDA architectures the CUDA module is compiled for, and that a user's choice
is honoured. The configure-only tests run CMake (no compilation) where nvcc is found."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ibfast

ROOT = Path(__file__).resolve().parents[1]


def _configure(tmp_path: Path, *defines: str) -> tuple[str, set[str]]:
    """CMAKE_CUDA_ARCHITECTURES as cached, and the nvcc -gencode targets, of a fresh configure."""
    if not (shutil.which("nvcc") and shutil.which("cmake") and shutil.which("ninja")):
        pytest.skip("needs nvcc, cmake and ninja")
    pybind11 = pytest.importorskip("pybind11")
    build = tmp_path / "build"
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja", "-DIBFAST_CUDA=ON",
                    f"-Dpybind11_DIR={pybind11.get_cmake_dir()}", f"-DPython_EXECUTABLE={sys.executable}",
                    *defines], check=True, capture_output=True)
    cache = (build / "CMakeCache.txt").read_text()
    archs = next(line.split("=", 1)[1] for line in cache.splitlines()
                 if line.startswith("CMAKE_CUDA_ARCHITECTURES:"))
    commands = subprocess.run(["ninja", "-C", str(build), "-t", "commands"], check=True,
                              capture_output=True, text=True).stdout
    gencode = {part.split(",")[0] for part in commands.split("arch=compute_")[1:]}
    return archs, gencode


def test_an_explicit_architecture_is_honoured(tmp_path):
    archs, gencode = _configure(tmp_path, "-DCMAKE_CUDA_ARCHITECTURES=86")
    assert archs == "86" and gencode == {"86"}


def test_the_default_contains_sm_90(tmp_path):
    archs, gencode = _configure(tmp_path)
    if archs == "native":  # a GPU was visible at configure time: its own architecture
        return
    assert "90-real" in archs.split(";") and "80-real" in archs.split(";")
    assert {"80", "90"} <= gencode


def test_build_info_says_what_the_cuda_module_was_compiled_for():
    info = ibfast.build_info()
    if not info["cuda_built"]:
        assert info["cuda_architectures"] is None
        return
    entries = info["cuda_architectures"]
    assert isinstance(entries, list) and entries
    if entries[0].startswith("native") or os.environ.get("CUDAARCHS"):
        return
    assert all(re.fullmatch(r"\d+(-real|-virtual)?", e) for e in entries), entries
    assert any(e.split("-")[0] == "90" for e in entries), entries  # the default build runs on an H100
