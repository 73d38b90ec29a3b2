"""The one runner: a grid of configurations as resumable tasks in a results folder, in this
process, on local worker processes or on a Dask cluster.

A grid of configurations becomes tasks (a configuration with a block of seeds); each finished task
is a file of its own in OUT/runs/, so a restart skips what is done. ``ibfast run``, ``ibfast
sweep``, ``ibfast reproduce`` and ``run_all`` all run through ``run_sweep``. See docs/sweeps.md.
"""

from .execute import run_pack
from .runner import SweepResult, run_all, run_sweep
from .store import SweepFolder
from .tasks import ConfigList, Grid, Task

__all__ = ["ConfigList", "Grid", "SweepFolder", "SweepResult", "Task", "run_all", "run_pack", "run_sweep"]
