"""Sweeps that survive being killed and spread over processes or a Dask cluster.

A grid of configurations becomes tasks (a configuration with a block of seeds); each finished task
is a file of its own in OUT/runs/, so a restart skips what is done. See docs/sweeps.md.
"""

from .execute import run_pack, run_task
from .runner import SweepResult, rebuild_outputs, run_sweep
from .store import SweepFolder
from .tasks import Grid, Task

__all__ = ["Grid", "SweepFolder", "SweepResult", "Task", "rebuild_outputs", "run_pack", "run_sweep",
           "run_task"]
