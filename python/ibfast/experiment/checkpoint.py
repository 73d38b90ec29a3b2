"""A training run's checkpoint: everything needed to continue it with the same numbers.

A long run (a pack of the paper's grid trains 8000 epochs) saves, every ``every_s`` seconds (or
every ``every_epochs`` epochs), the parameters and Adam's moments and step count, the batch
order's generator states, the next epoch, and every results row recorded so far, atomically (a
kill mid-write leaves the previous checkpoint). ``Experiment.run(checkpoint=...)`` loads it and
continues from that epoch: training is deterministic given that state, so the rows are those of
an uninterrupted run. A checkpoint is named by a key (the pack's task ids); one with another key
is ignored, never applied to other work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..results import replace_atomically

FORMAT = 1


@dataclass
class Checkpoint:
    """Where and how often a run saves its state; ``key`` names the work it belongs to."""

    path: Path
    key: str
    every_s: float = 300.0
    every_epochs: int | None = None
    _last: float = field(default_factory=time.monotonic, repr=False)

    def load(self) -> dict[str, Any] | None:
        """The saved state of this key's run, or None (no file, another key, a damaged file)."""
        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception:  # a damaged checkpoint is no checkpoint: the run starts over
            return None
        if not isinstance(state, dict) or state.get("key") != self.key or state.get("format") != FORMAT:
            return None
        return state

    def due(self, epochs_done: int) -> bool:
        if self.every_epochs is not None:
            return epochs_done % self.every_epochs == 0
        return time.monotonic() - self._last >= self.every_s

    def save(self, state: dict[str, Any]) -> None:
        replace_atomically(self.path, lambda fh: torch.save({**state, "key": self.key, "format": FORMAT}, fh))
        self._last = time.monotonic()

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
