"""The match review page (``football-events review``): a Starlette app over one data directory.

Routes: ``/`` the page (``static/``); ``/api/items`` what there is to review, ``/api/items/{id}`` one item's
truth and model events; ``/media/{path}`` video files under the data directory (HTTP range requests, so the
browser can seek; anything that resolves outside the directory, or is not a video, is 404); ``/api/search``
the ranked search of ``football-events search``; ``/api/upload`` and ``/api/jobs`` background ``analyze`` jobs;
``/api/highlights`` a reel of the current filter.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from football_assets.core.events import EVENT_CLASSES
from football_assets.core.inference.cascade_run import MODES
from football_assets.core.layout import DataLayout
from football_assets.review.catalog import Catalog, Item, ItemError
from football_assets.review.jobs import AnalyzeSettings, JobQueue, analyze_and_index

log = logging.getLogger("football_assets.review")

STATIC = Path(__file__).parent / "static"
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts"})
DEFAULT_MAX_UPLOAD_MB = 2048


@dataclass(frozen=True)
class ReviewConfig:
    data_dir: Path
    analyses: tuple[str, ...] = ()  # extra `analyze --out` files
    label_studio_url: str = ""
    label_studio_project: int | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB << 20
    settings: AnalyzeSettings | None = None  # where the models are; default: the data directory's


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def under(root: Path, rel: str) -> Path | None:
    """``root/rel`` when it is an existing file inside ``root`` after resolving ``..`` and symlinks, else None."""
    try:
        path = (root / rel.lstrip("/")).resolve()
    except (ValueError, OSError):  # an embedded NUL, a symlink loop
        return None
    return path if path.is_relative_to(root) and path.is_file() else None


def safe_name(name: str) -> str:
    """An uploaded file's name reduced to a plain file name (no directories, no odd characters)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name.replace("\\", "/")).name).strip("._") or "upload"
    return base[:100]


def unique_path(folder: Path, name: str) -> Path:
    dest = folder / name
    n = 1
    while dest.exists():
        dest = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
        n += 1
    return dest


class Review:
    """The app's state: data layout, catalog, job queue, settings."""

    def __init__(self, cfg: ReviewConfig):
        self.cfg = cfg
        self.layout = DataLayout(Path(cfg.data_dir).resolve())
        self.root = self.layout.root
        self.catalog = Catalog(self.layout, list(cfg.analyses))
        self._upload_lock = threading.Lock()
        self.settings = cfg.settings or AnalyzeSettings(str(self.layout.spotter_dir), str(self.layout.adapter_dir))
        self.jobs = JobQueue(lambda job, stage: analyze_and_index(self.layout, Path(job.video), job.mode,
                                                                  self.settings, stage),
                             lambda job, result: self.catalog.by_video().get(str(Path(result["video"]).resolve()), ""))

    # ------------------------------------------------------------------ helpers
    def media_url(self, video: str) -> str | None:
        try:
            rel = Path(video).resolve().relative_to(self.root)
        except ValueError:
            return None
        return "/media/" + quote(rel.as_posix())

    def task_url(self, item: Item) -> str:
        if not (self.cfg.label_studio_url and self.cfg.label_studio_project and item.task_id is not None):
            return ""
        return f"{self.cfg.label_studio_url.rstrip('/')}/projects/{self.cfg.label_studio_project}/data?task={item.task_id}"

    def incoming(self) -> list[dict]:
        return [{"path": p.relative_to(self.root).as_posix(), "name": p.name, "size": p.stat().st_size}
                for p in sorted(self.layout.incoming_dir.iterdir())
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in VIDEO_SUFFIXES]

    def item_json(self, item: Item) -> dict:
        url = self.media_url(item.video) if item.video else None
        exists = bool(item.video) and Path(item.video).is_file()
        return {**item.summary(), "video": item.video, "video_url": url if exists else None,
                "video_error": "" if url and exists else (
                    f"video {item.video} does not exist (moved or deleted?)" if not exists else
                    f"video {item.video} lies outside the data directory {self.root}, which is all this page serves"),
                "duration": item.duration, "truth": item.truth, "model": item.model, "model_version": item.model_version,
                "offset": item.offset, "task_id": item.task_id, "task_url": self.task_url(item)}

    # ------------------------------------------------------------------ routes
    async def index(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def items(self, request: Request) -> Response:
        return JSONResponse({"items": [i.summary() for i in self.catalog.items()], "incoming": self.incoming(),
                             "classes": list(EVENT_CLASSES), "data_dir": str(self.root),
                             "label_studio": bool(self.cfg.label_studio_url and self.cfg.label_studio_project),
                             "max_upload_mb": self.cfg.max_upload_bytes / (1 << 20)})

    async def item(self, request: Request) -> Response:
        try:
            item = self.catalog.get(request.path_params["item_id"])
        except ItemError as exc:
            return _error(404, str(exc))
        if item.error:
            return _error(422, item.error)
        return JSONResponse(self.item_json(item))

    async def media(self, request: Request) -> Response:
        path = under(self.root, request.path_params["path"])
        if path is None or path.suffix.lower() not in VIDEO_SUFFIXES:
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(path)  # answers Range requests with 206 and the asked bytes

    async def search(self, request: Request) -> Response:
        from football_assets.core.search import index, query
        from football_assets.core.search.index import SearchError

        q = request.query_params
        try:
            min_conf = float(q["min_confidence"]) if q.get("min_confidence") else None
            limit = max(1, min(int(q.get("limit") or 20), 100))
        except ValueError:
            return _error(400, "min_confidence and limit must be numbers")
        try:
            con = index.connect(self.layout.index_file, create=False)
            try:
                hits = query.search(con, q.get("q", ""), event=q.get("event") or None, min_confidence=min_conf,
                                    limit=limit)
            finally:
                con.close()
        except SearchError as exc:
            return _error(400, str(exc))
        videos = self.catalog.by_video()
        out = []
        for h in hits:
            d = h.to_dict()
            d["item"] = f"clip:{h.clip_id}" if h.kind in ("annotation", "prediction") else videos.get(
                str(Path(h.video).resolve()), "")
            out.append(d)
        return JSONResponse({"hits": out})

    async def upload(self, request: Request) -> Response:
        size = request.headers.get("content-length", "")
        if not size.isdigit():
            return _error(411, "upload refused: the request must say its length (Content-Length)")
        if int(size) > self.cfg.max_upload_bytes + (1 << 16):  # the form's own bytes on top of the file
            return _error(413, f"upload refused: {int(size) / (1 << 20):.1f} MB is more than the "
                               f"{self.cfg.max_upload_bytes / (1 << 20):.0f} MB limit")
        form = await request.form(max_files=1, max_fields=4)
        try:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return _error(400, "upload refused: no file in the form (field 'file')")
            name = safe_name(upload.filename or "upload.mp4")
            if upload.size is not None and upload.size > self.cfg.max_upload_bytes:
                return _error(413, f"upload refused: {name} is more than the {self.cfg.max_upload_bytes >> 20} MB limit")
            mode = str(form.get("mode") or "") or None
            if mode is not None and mode not in MODES:
                return _error(400, f"mode {mode!r}: expected one of {', '.join(MODES)}")
            return await run_in_threadpool(self._store_upload, upload.file, name, mode)
        finally:
            await form.close()

    def _store_upload(self, fileobj, name: str, mode: str | None) -> Response:
        from football_assets.core.fsutil import atomic_path
        from football_assets.core.ingest.video import VideoError, probe

        folder = self.layout.incoming_dir
        if Path(name).suffix.lower() not in VIDEO_SUFFIXES:
            name += ".mp4"
        try:
            with self._upload_lock:  # one at a time: two uploads of one name get two files
                dest = unique_path(folder, name)
                with atomic_path(dest) as tmp:  # nothing lands under incoming/ until ffprobe has read it
                    with open(tmp, "wb") as out:
                        shutil.copyfileobj(fileobj, out, 1 << 20)
                    probe(tmp, name)
        except VideoError as exc:
            log.warning("review: upload %s refused: %s", name, exc.cause)
            return _error(400, f"upload refused: {name} is not a video ffprobe can read ({exc.cause})")
        job = self.jobs.submit(dest, mode)
        return JSONResponse({"job": job.to_dict(), "path": dest.relative_to(self.root).as_posix()}, status_code=201)

    async def jobs_list(self, request: Request) -> Response:
        return JSONResponse({"jobs": self.jobs.list()})

    async def jobs_submit(self, request: Request) -> Response:
        body = await request.json()
        rel, mode = str(body.get("path") or ""), body.get("mode") or None
        path = under(self.root, rel)
        if path is None or not path.is_relative_to(self.layout.incoming_dir) or path.suffix.lower() not in VIDEO_SUFFIXES:
            return _error(404, f"no video {rel!r} under {self.layout.incoming_dir}")
        if mode is not None and mode not in MODES:
            return _error(400, f"mode {mode!r}: expected one of {', '.join(MODES)}")
        return JSONResponse({"job": self.jobs.submit(path, mode).to_dict()}, status_code=201)

    async def highlights(self, request: Request) -> Response:
        import hashlib
        import json

        from football_assets.core.ingest.video import VideoError
        from football_assets.core.search.highlights import HighlightError, highlights

        body = await request.json()
        try:
            item = self.catalog.get(str(body.get("item") or ""))
        except ItemError as exc:
            return _error(404, str(exc))
        if item.error:
            return _error(422, item.error)
        classes = body.get("classes") or None
        min_conf = body.get("min_confidence")
        margin = float(body.get("margin") if body.get("margin") is not None else 2.0)
        key = hashlib.sha256(json.dumps([item.id, item.video, classes, min_conf, margin, item.model, item.truth],
                                        sort_keys=True).encode()).hexdigest()[:10]
        dest = self.layout.highlights_dir / f"{re.sub(r'[^0-9A-Za-z]+', '-', item.title)[:40]}-{key}.mp4"
        try:
            out = await run_in_threadpool(highlights, {"video": item.video, "events": item.truth + item.model}, dest,
                                          classes, None if min_conf is None else float(min_conf), margin, item.offset)
        except (HighlightError, VideoError) as exc:
            return _error(400, str(exc))
        return JSONResponse({**out, "url": self.media_url(out["reel"])})


def create_app(cfg: ReviewConfig) -> Starlette:
    review = Review(cfg)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        review.jobs.close()

    app = Starlette(routes=[
        Route("/", review.index),
        Route("/api/items", review.items),
        Route("/api/items/{item_id:path}", review.item),
        Route("/api/search", review.search),
        Route("/api/upload", review.upload, methods=["POST"]),
        Route("/api/jobs", review.jobs_list, methods=["GET"]),
        Route("/api/jobs", review.jobs_submit, methods=["POST"]),
        Route("/api/highlights", review.highlights, methods=["POST"]),
        Route("/media/{path:path}", review.media),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], lifespan=lifespan)
    app.state.review = review
    return app
