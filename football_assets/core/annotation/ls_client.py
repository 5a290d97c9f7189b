"""A small wrapper over ``label_studio_sdk`` for the pipeline: one project, one task per clip (keyed by clip
id, so re-runs add nothing twice), model pre-annotations, and the JSON export that ``snapshots``
parses. Errors come out as ``LabelStudioError`` whose text never contains the API key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import httpx
from label_studio_sdk import LabelStudio

from football_assets.core.annotation import ls_export

DEFAULT_TITLE = "football-events"


class LabelStudioError(RuntimeError):
    """Talking to Label Studio failed; the message says which call and why (API key scrubbed)."""


class LabelStudioClient:
    def __init__(self, url: str, api_key: str, project_title: str = "", timeout: float = 60.0):
        if not url or not api_key:
            raise LabelStudioError("Label Studio URL and API key are both required")
        self.url = url.rstrip("/")
        self._key = api_key
        self.project_title = project_title or DEFAULT_TITLE
        self.timeout = timeout
        self.sdk = LabelStudio(base_url=self.url, api_key=api_key, timeout=timeout)

    def __repr__(self) -> str:
        return f"LabelStudioClient(url={self.url!r}, project_title={self.project_title!r})"

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _call(self, what: str, fn, *args, **kwargs):
        """Run one SDK call; any failure becomes a LabelStudioError without the key or the request headers."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # httpx / SDK ApiError / pydantic: one clear error type for callers
            detail = getattr(exc, "body", None) or str(exc) or type(exc).__name__
            msg = self._scrub(f"Label Studio at {self.url}: {what} failed: {type(exc).__name__}: {detail}")
        raise LabelStudioError(msg)  # outside ``except``: no chained traceback carrying request objects

    def health(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=5.0).status_code == 200
        except httpx.HTTPError:
            return False

    # ------------------------------------------------------------ project
    def ensure_project(self, label_config: str | None = None) -> int:
        """The id of the project titled ``project_title``, created (or its config updated) as needed."""
        label_config = label_config or ls_export.labeling_config()
        found = self._call("list projects", lambda: [p for p in self.sdk.projects.list(title=self.project_title)
                                                    if p.title == self.project_title])
        if found:
            project = min(found, key=lambda p: p.id)
            if (project.label_config or "").strip() != label_config.strip():
                self._call("update labeling config", self.sdk.projects.update, project.id, label_config=label_config)
            return project.id
        project = self._call("create project", self.sdk.projects.create, title=self.project_title,
                             label_config=label_config,
                             description="Mark football match events on each 4 fps clip and describe them.")
        return project.id

    def ensure_local_storage(self, project_id: int, path: Path) -> int:
        """A local-files storage on ``path`` so Label Studio serves the clip videos (never synced: tasks are
        pushed by clip id instead, a sync would duplicate them)."""
        path = str(Path(path).resolve())
        for s in self._call("list local storages", self.sdk.import_storage.local.list, project=project_id):
            if s.path == path:
                return s.id
        s = self._call("attach local storage", self.sdk.import_storage.local.create, project=project_id, path=path,
                       title="4 fps clips (serving only; do not sync)", use_blob_urls=False, regex_filter=r"^$")
        return s.id

    # ------------------------------------------------------------ tasks
    def tasks_by_clip(self, project_id: int) -> dict[str, list[dict]]:
        """clip id -> the project's tasks for it (normally one), each ``{"id", "data", "predictions"}``."""
        out: dict[str, list[dict]] = {}

        def _list():
            for t in self.sdk.tasks.list(project=project_id, page_size=500, fields="all"):
                clip = (t.data or {}).get("clip_id")
                if clip:
                    preds = [p if isinstance(p, dict) else p.dict() for p in (getattr(t, "predictions", None) or [])]
                    out.setdefault(clip, []).append({"id": t.id, "data": t.data, "predictions": preds})
        self._call("list tasks", _list)
        return out

    def push_tasks(self, project_id: int, clips: list[dict], batch_size: int = 100,
                   on_batch: Callable[[int], None] | None = None) -> dict:
        """Create a task for every clip that has none. Each batch is one import request (all or nothing on
        the server), and the existing tasks are re-read first, so an interrupted push resumes cleanly."""
        existing = self.tasks_by_clip(project_id)
        missing = [c for c in clips if c["clip_id"] not in existing]
        created = 0
        for i in range(0, len(missing), batch_size):
            batch = missing[i:i + batch_size]
            self._call("import tasks", self.sdk.projects.import_tasks, project_id,
                       request=[{"data": ls_export.task_data(c["clip_id"], float(c["fps"]))} for c in batch],
                       return_task_ids=True)
            created += len(batch)
            if on_batch:
                on_batch(created)
        return {"existing": len(existing), "created": created}

    def push_predictions(self, project_id: int, predictions: dict, tasks: dict[str, list[dict]]) -> int:
        """Add each clip's model events as one prediction per task, unless that model version is there; its
        score is the clip's ``clip_scores`` entry (``ls_export.clip_score``) when given."""
        version = str(predictions["model_version"])
        added = 0
        for clip_id, events in sorted(predictions.get("clips", {}).items()):
            for task in tasks.get(clip_id, []):
                if any(str(p.get("model_version")) == version for p in task["predictions"]):
                    continue
                pred = ls_export.prediction(events, float(task["data"].get("fps", 4)), version,
                                            (predictions.get("clip_scores") or {}).get(clip_id))
                self._call(f"create prediction for clip {clip_id}", self.sdk.predictions.create, task=task["id"],
                           result=pred["result"], score=pred["score"], model_version=version)
                added += 1
        self._call("set project model version", self.sdk.projects.update, project_id, model_version=version)
        return added

    # ------------------------------------------------------------ annotations
    def export(self, project_id: int) -> list[dict]:
        """The project's JSON export (every task; the same format as an export file)."""
        def _get():
            chunks = self.sdk.projects.exports.download_sync(project_id, export_type="JSON", download_all_tasks=True)
            return json.loads(b"".join(chunks))
        tasks = self._call("export annotations", _get)
        users = self._call("list users", lambda: {u.id: u.email or u.username for u in self.sdk.users.list()})
        for task in tasks:  # the export names annotators by user id; the snapshot wants who it was
            for ann in task.get("annotations") or []:
                if isinstance(ann.get("completed_by"), int) and ann["completed_by"] in users:
                    ann["completed_by"] = {"id": ann["completed_by"], "email": users[ann["completed_by"]]}
        return tasks
