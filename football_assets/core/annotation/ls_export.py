"""Label Studio JSON export format: events <-> TimelineLabels frame ranges with per-region text.

Frame convention (one, used both ways): Label Studio numbers video frames from 1 at the task's fps;
frame ``f`` covers ``[(f-1)/fps, f/fps)``. A region ``{start: s, end: e}`` is the interval
``[(s-1)/fps, e/fps)`` seconds. Times on the 1/fps grid round-trip exactly.
"""

from __future__ import annotations

from football_assets.core.events import Event

FROM_LABELS, FROM_TEXT, TO_NAME = "events", "description", "video"


def seconds_to_frames(start: float, end: float, fps: float) -> tuple[int, int]:
    s = int(round(start * fps)) + 1
    e = max(s, int(round(end * fps)))
    return s, e


def frames_to_seconds(start: int, end: int, fps: float) -> tuple[float, float]:
    return (start - 1) / fps, end / fps


def video_url(clip_id: str) -> str:
    """The URL Label Studio serves a 4 fps clip from (local files rooted at the data directory)."""
    return f"/data/local-files/?d=clips_4fps/{clip_id}.mp4"


def event_results(events: list[Event], fps: float) -> list[dict]:
    """Label Studio ``result`` items: a timelinelabels region plus its per-region textarea, sharing an id."""
    out = []
    for i, ev in enumerate(events):
        s, e = seconds_to_frames(ev.start_time, ev.end_time, fps)
        rid = f"r{i}"
        out.append({"id": rid, "from_name": FROM_LABELS, "to_name": TO_NAME, "type": "timelinelabels",
                    "value": {"ranges": [{"start": s, "end": e}], "timelinelabels": [ev.event]}})
        if ev.description:
            out.append({"id": rid, "from_name": FROM_TEXT, "to_name": TO_NAME, "type": "textarea",
                        "value": {"ranges": [{"start": s, "end": e}], "text": [ev.description]}})
    return out


def task_export(clip_id: str, fps: float, events: list[Event], task_id: int, annotator: str = "demo-ground-truth",
                updated_at: str = "2026-01-01T00:00:00Z") -> dict:
    """One task as it appears in a Label Studio JSON export, with one submitted annotation."""
    return {
        "id": task_id,
        "data": {"video": video_url(clip_id), "clip_id": clip_id, "fps": fps},
        "annotations": [{
            "id": task_id, "completed_by": {"email": annotator}, "was_cancelled": False,
            "lead_time": 0.0, "created_at": updated_at, "updated_at": updated_at,
            "result": event_results(events, fps),
        }],
        "predictions": [],
    }


def labeling_config(classes: tuple[str, ...] | None = None) -> str:
    """The project's labeling config, generated from ``EVENT_CLASSES`` (``label_studio/labeling_config.xml``
    is this text; a test keeps them equal). The video's frame rate comes from each task's ``$fps``."""
    from football_assets.core.events import EVENT_CLASSES

    labels = "\n".join(f'    <Label value="{c}"/>' for c in (classes or EVENT_CLASSES))
    return (
        "<View>\n"
        '  <Header value="Clip $clip_id: mark each match event on the timeline, then describe it"/>\n'
        f'  <Video name="{TO_NAME}" value="$video" frameRate="$fps" timelineHeight="120"/>\n'
        f'  <TimelineLabels name="{FROM_LABELS}" toName="{TO_NAME}">\n{labels}\n  </TimelineLabels>\n'
        f'  <TextArea name="{FROM_TEXT}" toName="{TO_NAME}" perRegion="true" editable="true" rows="2"\n'
        '            placeholder="What happens (who, where, outcome)"/>\n'
        "</View>\n"
    )


def task_data(clip_id: str, fps: float) -> dict:
    """The ``data`` of the one task a clip becomes."""
    return {"video": video_url(clip_id), "clip_id": clip_id, "fps": fps}


def clip_score(events: list[dict], answer_confidences: list[float] | None = None) -> float | None:
    """How sure the model is of a clip, for annotators to take the least certain first: its lowest event
    confidence, or for a clip without events the lowest probability its windows gave to "no event"."""
    if events:
        return min(float(e.get("confidence", 1.0)) for e in events)
    return min(answer_confidences) if answer_confidences else None


def prediction(events: list[dict], fps: float, model_version: str, score: float | None = None) -> dict:
    """A Label Studio prediction (pre-annotation) from model events with ``confidence``: per-region score on
    the label result; the task-level score (Label Studio's "Prediction score" column, sortable) is ``score``
    (``clip_score``), else the lowest event confidence, else 0."""
    evs = [Event(e["event"], float(e["start_time"]), float(e["end_time"]), e.get("description", "")) for e in events]
    result = event_results(evs, fps)
    scores = [float(e.get("confidence", 1.0)) for e in events]
    by_id = {f"r{i}": s for i, s in enumerate(scores)}
    for item in result:
        if item["type"] == "timelinelabels":
            item["score"] = by_id[item["id"]]
    if score is None:
        score = min(scores) if scores else 0.0
    return {"model_version": model_version, "score": float(score), "result": result}
