"""Ingest many clips in one process: a thread pool of ffmpeg/ffprobe workers sized to the cores.

The work per clip is subprocesses (ffmpeg, ffprobe, yt-dlp downloads), so threads run them in parallel
without a process per clip. Each clip goes through its steps on its own; one that fails is reported
with its error and never stops the others. Results arrive in completion order, so a caller can report
each clip (Dagster events, a progress bar) while the pool keeps working.
"""

from __future__ import annotations

import os
import traceback
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from football_assets.core.ingest.catalog import StepResult, ingest_raw, make_clip
from football_assets.core.ingest.video import VideoError
from football_assets.core.layout import DataLayout

STEPS = ("raw", "clip")

#: Called with each ``ClipOutcome`` as it completes, in this process (the demo driver's progress bar).
PROGRESS_LISTENERS: list[Callable[["ClipOutcome"], None]] = []


def default_workers(configured: int | None = None) -> int:
    """Clips at once: ``configured`` (``FOOTBALL_INGEST_WORKERS``, read by the caller), else the cores this
    process may use."""
    if configured is not None:
        if configured < 1:
            raise ValueError(f"FOOTBALL_INGEST_WORKERS must be >= 1, got {configured}")
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class ClipOutcome:
    """What happened to one clip: the result of each step that ran, or the step that failed and why."""

    key: str
    results: dict[str, StepResult] = field(default_factory=dict)
    failed_step: str | None = None
    cause: str = ""  # one line, names no clip (the key is beside it)
    traceback: str = ""  # for unexpected errors (bugs), for the event log

    @property
    def ok(self) -> bool:
        return self.failed_step is None

    @property
    def line(self) -> str:
        """``clip: cause``, the one line a console shows for a failed clip."""
        return f"{self.key}: {self.cause}"


def ingest_clip(layout: DataLayout, key: str, steps: Iterable[str] = STEPS, verify: bool = False) -> ClipOutcome:
    """Run ``steps`` ("raw" then "clip") for one clip; catch its failure into the outcome."""
    out = ClipOutcome(key)
    for step in steps:
        try:
            out.results[step] = ingest_raw(layout, key) if step == "raw" else make_clip(layout, key, verify=verify)
        except VideoError as exc:
            out.failed_step, out.cause = step, exc.cause
            break
        except Exception as exc:  # a bug or an environment problem: keep the traceback for the event log
            out.failed_step, out.cause = step, f"{type(exc).__name__}: {exc}".splitlines()[0]
            out.traceback = traceback.format_exc()
            break
    return out


def ingest_many(layout: DataLayout, keys: Iterable[str], steps: Iterable[str] = STEPS, workers: int | None = None,
                verify: bool = False, run: Callable[..., ClipOutcome] = ingest_clip) -> Iterator[ClipOutcome]:
    """Yield each clip's outcome as it completes, ``workers`` clips at a time (default: the cores)."""
    keys, steps = list(keys), tuple(steps)
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise ValueError(f"unknown ingest step(s) {sorted(unknown)}; expected some of {STEPS}")
    workers = workers or default_workers()
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(keys) or 1)), thread_name_prefix="ingest") as pool:
        pending = {pool.submit(run, layout, k, steps, verify) for k in keys}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                outcome = fut.result()
                for listener in list(PROGRESS_LISTENERS):
                    listener(outcome)
                yield outcome
