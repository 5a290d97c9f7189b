"""Background ``analyze`` jobs for the review page: one at a time on one worker thread, the others wait in line.

A job runs the same core functions as ``football-events analyze`` (cascade by default when a spotter exists,
``resolve_mode``), then adds the result to the event index and keeps it under ``<data>/analyses/``
(``index_analysis``), so it shows in the page's list and in search. Its ``stage`` says where it is (queued,
loading models, analysing, indexing, done or failed with the error).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from football_assets.core.layout import DataLayout

log = logging.getLogger("football_assets.review")


@dataclass
class Job:
    id: int
    video: str
    mode: str | None
    state: str = "queued"  # queued | running | done | failed
    stage: str = "waiting in line"
    error: str = ""
    item: str = ""  # the review item of the result
    n_events: int | None = None
    behind: int = 0  # jobs ahead of it when it was submitted
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None

    def to_dict(self) -> dict:
        return {**asdict(self), "name": Path(self.video).name}


@dataclass(frozen=True)
class AnalyzeSettings:
    """Where the models are and how to run them (the ``review`` command's options)."""

    spotter_dir: str
    adapter_dir: str
    device: str = "auto"
    dtype: str = "auto"


def analyze_and_index(layout: DataLayout, video: Path, mode: str | None, settings: AnalyzeSettings,
                      stage: Callable[[str], None]) -> dict:
    """``football-events analyze VIDEO --index`` through the core functions; returns the result."""
    from football_assets.core.inference import analyze, cascade_run
    from football_assets.core.ingest.video import probe
    from football_assets.core.search.library import index_analysis

    stage("checking the video")
    probe(video)
    mode = cascade_run.resolve_mode(mode, settings.spotter_dir)
    stage(f"loading models ({mode})")
    if mode == "vlm":
        predictor, version, base = analyze.load_predictor(settings.adapter_dir, None, settings.device, settings.dtype)
        stage("analysing every window (vlm)")
        result = analyze.analyze_video(video, predictor, version, analyze.default_window_s(base, predictor.budget), progress=False)
    else:
        spotter = cascade_run.load_spotter(settings.spotter_dir, settings.device)
        predictor, version, window = None, None, spotter.clip_frames / spotter.cfg.fps
        if mode == "cascade":  # the same guards as the command: the adapter's own errors, then matching splits
            from football_assets.core.spotter.cascade import CascadeMismatchError, check_same_splits

            analyze.adapter_info(settings.adapter_dir)
            try:
                check_same_splits(settings.spotter_dir, settings.adapter_dir)
            except CascadeMismatchError as exc:
                raise analyze.AnalyzeError(str(exc)) from None
            predictor, version, base = analyze.load_predictor(settings.adapter_dir, None, settings.device, settings.dtype)
            window = analyze.default_window_s(base, predictor.budget)
        stage(f"analysing ({mode}: spotter scan" + (", then the VLM on its proposals)" if predictor else ")"))
        result = cascade_run.cascade_video(video, spotter, predictor, version, window, progress=False)
    stage("adding to the event index")
    index_analysis(layout, result)
    return result


class JobQueue:
    """Jobs run in submission order on one daemon thread; ``runner(job, stage)`` does the work and returns the
    analysis result; ``on_done(job, result)`` names the item it became."""

    def __init__(self, runner: Callable[[Job, Callable[[str], None]], dict],
                 on_done: Callable[[Job, dict], str] | None = None):
        self.runner, self.on_done = runner, on_done
        self.jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._q: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="review-jobs", daemon=True)
        self._thread.start()

    def submit(self, video: Path | str, mode: str | None = None) -> Job:
        with self._lock:
            ahead = sum(j.state in ("queued", "running") for j in self.jobs.values())
            job = Job(next(self._ids), str(video), mode, behind=ahead,
                      stage="waiting in line" + (f" ({ahead} ahead)" if ahead else ""))
            self.jobs[job.id] = job
        self._q.put(job)
        log.info("review: job %d queued for %s (%d ahead)", job.id, video, ahead)
        return job

    def list(self) -> list[dict]:
        with self._lock:
            return [j.to_dict() for j in sorted(self.jobs.values(), key=lambda j: -j.id)]

    def _work(self) -> None:
        while (job := self._q.get()) is not None:
            job.state, job.started_at = "running", time.time()

            def stage(text: str, job=job) -> None:
                job.stage = text
                log.info("review: job %d: %s", job.id, text)

            try:
                result = self.runner(job, stage)
                job.n_events = len(result.get("events", []))
                job.item = self.on_done(job, result) if self.on_done else ""
                job.state, job.stage = "done", f"done: {job.n_events} events"
            except Exception as exc:  # a job's failure is shown on the page; the server goes on
                known = type(exc).__name__ in ("AnalyzeError", "VideoError", "SearchError")  # their text says it all
                job.state, job.stage = "failed", "failed"
                job.error = str(exc) if known else f"{type(exc).__name__}: {exc}"
                log.error("review: job %d (%s) failed: %s", job.id, job.video, job.error)
            finally:
                job.finished_at = time.time()

    def close(self, timeout: float = 5.0) -> None:
        self._q.put(None)
        self._thread.join(timeout)
