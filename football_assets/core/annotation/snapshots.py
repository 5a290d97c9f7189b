"""Label Studio exports -> the versioned annotation snapshot every later stage trains on.

One parser serves both sources: the JSON export of a live server and export files in ``<data>/labels/``
(the demo's ground truth, or a file from any Label Studio). Frame ranges become seconds through
``ls_export.frames_to_seconds`` (frame ``f`` covers ``[(f-1)/fps, f/fps)``); a timeline region is paired
with the per-region description that carries the same region id.

Several annotators on one clip (rule, applied per clip): every pair of annotations gets an agreement
score, the F1 of a one-to-one matching of their events (same class, temporal IoU >= ``TIOU_MATCH``);
two annotations with no events agree fully. The clip's ``agreement`` is the mean over pairs. The events of
the single annotation with the highest mean agreement with the others are kept (ties: the most recently
updated), so each clip trains on one coherent label set. One annotator: agreement is NaN.
Cancelled (skipped) annotations are dropped before this.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, urlparse

import pandas as pd

from football_assets.core.annotation.ls_export import FROM_TEXT, frames_to_seconds
from football_assets.core.checks import CheckResult
from football_assets.core.events import EVENT_CLASSES, TARGET_FPS, Event
from football_assets.core.fsutil import atomic_dir, atomic_path
from football_assets.core.layout import DataLayout
from football_assets.core.matching import greedy_match

TIOU_MATCH = 0.5
EVENT_COLUMNS = ["clip_id", "task_id", "annotation_id", "annotator", "event", "start_time", "end_time",
                 "description", "lead_time", "updated_at"]
TASK_COLUMNS = ["clip_id", "task_id", "source_id", "fps", "duration_s", "n_events", "annotators", "agreement"]


class AnnotationError(ValueError):
    """Bad annotation input; the message names the file/task and the cause."""


@dataclass
class Annotation:
    annotation_id: int
    annotator: str
    lead_time: float
    updated_at: str
    events: list[Event]


@dataclass
class TaskAnnotations:
    task_id: int
    clip_id: str
    fps: float
    annotations: list[Annotation] = field(default_factory=list)


# ---------------------------------------------------------------- parsing

def _clip_id(data: dict) -> str | None:
    if data.get("clip_id"):
        return str(data["clip_id"])
    url = data.get("video") or ""
    path = parse_qs(urlparse(url).query).get("d", [urlparse(url).path])[0]
    return PurePosixPath(path).stem or None


def _annotator(completed_by) -> str:
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or completed_by.get("username") or completed_by.get("id"))
    return str(completed_by) if completed_by is not None else "unknown"


def parse_result(result: list[dict], fps: float, where: str) -> list[Event]:
    """Timeline regions with their descriptions (paired by region id) as events, sorted by start."""
    texts: dict[str, str] = {}
    for item in result:
        if item.get("type") == "textarea" and item.get("from_name") == FROM_TEXT:
            texts[item.get("id")] = " ".join(t.strip() for t in item.get("value", {}).get("text", [])).strip()
    events = []
    for item in result:
        if item.get("type") != "timelinelabels":
            continue
        value = item.get("value", {})
        for label in value.get("timelinelabels", []):
            if label not in EVENT_CLASSES:
                raise AnnotationError(f"{where}: unknown event label {label!r} in region {item.get('id')!r}; "
                                      f"known classes: {', '.join(EVENT_CLASSES)}")
            for rng in value.get("ranges", []):
                try:
                    s, e = int(rng["start"]), int(rng["end"])
                except (KeyError, TypeError, ValueError):
                    raise AnnotationError(f"{where}: region {item.get('id')!r} has a bad frame range {rng!r}") from None
                if e < s:
                    raise AnnotationError(f"{where}: region {item.get('id')!r} ends (frame {e}) before it starts ({s})")
                start, end = frames_to_seconds(s, e, fps)
                events.append(Event(label, start, end, texts.get(item.get("id"), "")))
    return sorted(events, key=lambda ev: (ev.start_time, ev.end_time, ev.event))


def parse_export(tasks, source: str = "export") -> list[TaskAnnotations]:
    """Tasks of a Label Studio JSON export -> submitted annotations per task (cancelled/skipped excluded)."""
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise AnnotationError(f"{source}: a Label Studio JSON export is a list of tasks, got {type(tasks).__name__}")
    out = []
    for i, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise AnnotationError(f"{source}: item {i} is not a Label Studio task (no 'data' object)")
        where = f"{source}: task {task.get('id', i)}"
        clip_id = _clip_id(task["data"])
        if not clip_id:
            raise AnnotationError(f"{where}: no clip_id and no video URL in the task data")
        fps = float(task["data"].get("fps") or TARGET_FPS)
        ta = TaskAnnotations(int(task.get("id", i)), clip_id, fps)
        for ann in task.get("annotations") or []:
            if ann.get("was_cancelled"):
                continue
            aw = f"{where} (clip {clip_id}), annotation {ann.get('id')}"
            ta.annotations.append(Annotation(
                int(ann.get("id") or 0), _annotator(ann.get("completed_by")), float(ann.get("lead_time") or 0.0),
                str(ann.get("updated_at") or ann.get("created_at") or ""), parse_result(ann.get("result") or [], fps, aw)))
        out.append(ta)
    return out


def read_export_dir(folder: Path) -> list[TaskAnnotations]:
    """Every ``*.json`` export under ``folder`` (recursively), through ``parse_export``."""
    out = []
    for path in sorted(Path(folder).rglob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AnnotationError(f"{path}: not a valid JSON export file ({exc})") from None
        out.extend(parse_export(data, str(path)))
    return out


# ---------------------------------------------------------------- agreement

def pair_agreement(a: list[Event], b: list[Event], threshold: float = TIOU_MATCH) -> float:
    """F1 of a greedy one-to-one matching (same class, tIoU >= threshold, best pairs first)."""
    if not a and not b:
        return 1.0
    return 2 * len(greedy_match(a, b, threshold)) / (len(a) + len(b))


def resolve(anns: list[Annotation]) -> tuple[Annotation, float]:
    """The module docstring's rule: (kept annotation, mean pairwise agreement or NaN)."""
    if len(anns) == 1:
        return anns[0], math.nan
    n = len(anns)
    score = [[pair_agreement(anns[i].events, anns[j].events) if i != j else 0.0 for j in range(n)] for i in range(n)]
    mean_each = [sum(row) / (n - 1) for row in score]
    overall = sum(score[i][j] for i in range(n) for j in range(i + 1, n)) / (n * (n - 1) / 2)
    best = max(range(n), key=lambda i: (round(mean_each[i], 9), anns[i].updated_at, anns[i].annotation_id))
    return anns[best], overall


# ---------------------------------------------------------------- snapshot

@dataclass
class Snapshot:
    version: str
    events: pd.DataFrame
    tasks: pd.DataFrame


def build_frames(tasks: list[TaskAnnotations], clips: dict[str, dict]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(events, tasks, clip ids annotated but without a 4 fps clip). Tasks of one clip are pooled."""
    by_clip: dict[str, list[tuple[TaskAnnotations, Annotation]]] = {}
    fps_of: dict[str, float] = {}
    seen = set()
    for t in tasks:
        fps_of.setdefault(t.clip_id, t.fps)
        for a in t.annotations:
            key = (t.clip_id, t.task_id, a.annotation_id, a.annotator, a.updated_at)
            if key not in seen:  # the same annotation in two export files counts once
                seen.add(key)
                by_clip.setdefault(t.clip_id, []).append((t, a))
    ev_rows, task_rows, orphans = [], [], []
    for clip_id in sorted(by_clip):
        if clip_id not in clips:
            orphans.append(clip_id)
            continue
        pairs = by_clip[clip_id]
        kept, agreement = resolve([a for _, a in pairs])
        task = next(t for t, a in pairs if a is kept)
        facts = clips[clip_id]
        for ev in kept.events:
            ev_rows.append({"clip_id": clip_id, "task_id": task.task_id, "annotation_id": kept.annotation_id,
                            "annotator": kept.annotator, "event": ev.event, "start_time": ev.start_time,
                            "end_time": ev.end_time, "description": ev.description, "lead_time": kept.lead_time,
                            "updated_at": kept.updated_at})
        task_rows.append({"clip_id": clip_id, "task_id": task.task_id, "source_id": facts.get("source_id", ""),
                          "fps": float(fps_of[clip_id]), "duration_s": float(facts["duration_s"]),
                          "n_events": len(kept.events), "annotators": len({a.annotator for _, a in pairs}),
                          "agreement": agreement})
    events = pd.DataFrame(ev_rows, columns=EVENT_COLUMNS)
    events = events.astype({"task_id": "int64", "annotation_id": "int64", "start_time": "float64",
                            "end_time": "float64", "lead_time": "float64"})
    tasks_df = pd.DataFrame(task_rows, columns=TASK_COLUMNS).astype(
        {"task_id": "int64", "fps": "float64", "duration_s": "float64", "n_events": "int64", "annotators": "int64",
         "agreement": "float64"})
    return events, tasks_df, orphans


def content_version(events: pd.DataFrame, tasks: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for df in (events, tasks):
        h.update(df.to_json(orient="records", double_precision=10).encode())
    return f"ann-{h.hexdigest()[:12]}"


def write_snapshot(layout: DataLayout, events: pd.DataFrame, tasks: pd.DataFrame) -> Snapshot:
    """Write ``annotations/<version>/`` once (the version is a content hash, so a snapshot never changes)
    and point ``annotations/LATEST`` at it."""
    version = content_version(events, tasks)
    dest = layout.annotations_dir / version
    if not (dest / "tasks.parquet").exists():
        with atomic_dir(dest) as tmp:
            events.to_parquet(tmp / "events.parquet", index=False)
            tasks.to_parquet(tmp / "tasks.parquet", index=False)
    with atomic_path(layout.annotations_dir / "LATEST") as tmp:
        tmp.write_text(version + "\n")
    return Snapshot(version, events, tasks)


def load_latest(layout: DataLayout) -> Snapshot:
    latest = layout.annotations_dir / "LATEST"
    if not latest.exists():
        raise FileNotFoundError(f"{latest}: no annotation snapshot yet; materialize the 'annotations' asset")
    version = latest.read_text().strip()
    d = layout.annotations_dir / version
    return Snapshot(version, pd.read_parquet(d / "events.parquet"), pd.read_parquet(d / "tasks.parquet"))


#: The snapshot's own checks (blocking on ``annotations``): name -> rule.
SNAPSHOT_CHECKS = {
    "labels_known": "Every label is one of EVENT_CLASSES.",
    "start_before_end": "Every event starts before it ends.",
    "inside_clip": "Every event lies inside its clip's duration (within one frame).",
}


def check_snapshot(events: pd.DataFrame, tasks: pd.DataFrame) -> list[CheckResult]:
    """One result per ``SNAPSHOT_CHECKS`` rule, naming up to ten offending events."""
    dur = dict(zip(tasks.clip_id, tasks.duration_s))
    fps = dict(zip(tasks.clip_id, tasks.fps))
    found: dict[str, list[str]] = {name: [] for name in SNAPSHOT_CHECKS}
    for r in events.itertuples():
        where = f"{r.clip_id} {r.event!r} {r.start_time}-{r.end_time}s"
        if r.event not in EVENT_CLASSES:
            found["labels_known"].append(where)
        if not r.start_time < r.end_time:
            found["start_before_end"].append(where)
        if r.start_time < 0 or r.end_time > dur.get(r.clip_id, 0.0) + 1.0 / fps.get(r.clip_id, TARGET_FPS) + 1e-6:
            found["inside_clip"].append(f"{where} (clip lasts {dur.get(r.clip_id)}s)")
    return [CheckResult(name, not bad, f"{len(bad)} failing" if bad else SNAPSHOT_CHECKS[name],
                        {"failures": len(bad), "examples": "; ".join(bad[:10])}) for name, bad in found.items()]
