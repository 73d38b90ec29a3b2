"""The README's first screen does what it says: the snippet runs as a script and prints, and the
commands it recommends exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_own_activations_snippet_prints_when_run_as_a_script(tmp_path):
    m = re.search(r"## Use it on your own activations\n\n```python\n(.*?)```", README, re.S)
    assert m, "the README lost its snippet"
    script = tmp_path / "snippet.py"
    script.write_text(m.group(1))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         check=True).stdout.splitlines()
    assert len(out) == 5  # one line per print: the snippet's results are visible
    i_xt, i_ty = (float(v) for v in out[0].split()[:2])
    assert 0 <= i_ty <= 1 and 0 < i_xt <= 12


def test_the_recommended_first_commands_run():
    assert "ibfast demo" in README and "ibfast info" in README and "docs/your-model.md" in README
    for cmd in (["info"], ["demo"]):
        run = subprocess.run([sys.executable, "-m", "ibfast", *cmd], capture_output=True, text=True,
                             timeout=300, check=True)
        assert run.stdout.strip()
