"""IBFAST_VAR_U: how the tests find the 12-bit task's var_u.mat, and what they say without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import conftest
import pytest

HERE = Path(__file__).resolve().parent


def _pytest(env_value: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "IBFAST_VAR_U": env_value}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=HERE.parent, env=env, capture_output=True, text=True, timeout=300)


def test_a_named_file_that_does_not_exist_is_an_error_not_skips(tmp_path):
    run = _pytest(str(tmp_path / "nope.mat"), "tests/test_data.py", "-k", "var_u")
    assert run.returncode == 4  # pytest's usage error
    assert "IBFAST_VAR_U" in run.stderr and "is not a file" in run.stderr


def test_the_variable_names_the_file_the_tests_use(tmp_path):
    if not conftest.VAR_U_PATH.is_file():
        pytest.skip(conftest.VAR_U_MISSING)
    copy = tmp_path / "elsewhere.mat"
    copy.write_bytes(conftest.VAR_U_PATH.read_bytes())
    run = _pytest(str(copy), "tests/test_data.py", "-k", "var_u_loader", "-rs")
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout and "skipped" not in run.stdout
    # the named file is the one read: a damaged copy fails the loader's hash check
    damaged = tmp_path / "damaged.mat"
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    run = _pytest(str(damaged), "tests/test_data.py", "-k", "var_u_loader")
    assert run.returncode == 1 and "sha256" in run.stdout, run.stdout[-2000:]


def test_the_skip_reason_and_the_summary_name_the_variable():
    assert "IBFAST_VAR_U" in conftest.VAR_U_MISSING and "docs/experiments.md" in conftest.VAR_U_MISSING
    lines = []
    skipped = [SimpleNamespace(longrepr=("f.py", 1, f"Skipped: {conftest.VAR_U_MISSING}"))] * 3
    other = [SimpleNamespace(longrepr=("g.py", 1, "Skipped: no CUDA device visible"))]
    reporter = SimpleNamespace(stats={"skipped": skipped + other},
                               write_line=lambda text, **kw: lines.append(text))
    conftest.pytest_terminal_summary(reporter)
    assert len(lines) == 1 and lines[0].startswith("3 tests skipped") and "IBFAST_VAR_U=" in lines[0]
    reporter.stats = {"skipped": other}
    conftest.pytest_terminal_summary(reporter)
    assert len(lines) == 1  # nothing to say
