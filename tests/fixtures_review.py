"""A data root for the review page and highlight-reel tests, made of real components: 8 real demo clips, their
ground truth as an annotation snapshot, an event spotter trained on them (real trainer, a minute on CPU), a
short 'match' (three clips joined by ffmpeg) analysed by that spotter and kept in the index, the spotter's
predictions on two clips, and ``football-events review`` itself running as a subprocess on 127.0.0.1."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from football_assets.core.layout import DataLayout
from tests.fixtures_evaluation import ffmpeg

SPOTTER = {"cnn_width": 8, "height": 96, "width": 144, "cpu_threads": 1, "logging_steps": 20, "epochs": 60}
MAX_UPLOAD_MB = 4  # the review fixture's match (three broadcast demo clips) is ~2.5 MB


@pytest.fixture(scope="session")
def review_root(tmp_path_factory) -> Path:
    from football_assets.core.annotation import snapshots
    from football_assets.core.annotation.demo_labels import write_demo_labels
    from football_assets.core.inference import cascade_run
    from football_assets.core.search import library
    from football_assets.core.spotter.train import SpotterTrainConfig, run
    from football_assets.review.jobs import AnalyzeSettings, analyze_and_index
    from tests.fixtures_training import make_demo_clips, write_splits

    layout = DataLayout(tmp_path_factory.mktemp("review") / "data")
    clips = make_demo_clips(layout)
    splits = write_splits(layout, clips)
    run(SpotterTrainConfig.from_dict({"splits_dir": str(splits), "splits_version": "test-v1",
                                      "output_dir": str(layout.root / "spotter_run"),
                                      "spotter_dir": str(layout.spotter_dir), **SPOTTER}))
    shutil.rmtree(layout.root / "spotter_run")
    write_demo_labels(layout, clips)
    events, tasks, _ = snapshots.build_frames(snapshots.read_export_dir(layout.labels_dir),
                                              {c["clip_id"]: c for c in clips})
    snapshots.write_snapshot(layout, events, tasks)

    videos = layout.root / "videos"
    videos.mkdir()
    listing = videos / "concat.txt"
    listing.write_text("".join(f"file '{c['path']}'\n" for c in sorted(clips, key=lambda c: c["clip_id"])[:3]))
    match = videos / "match.mp4"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(match))
    settings = AnalyzeSettings(str(layout.spotter_dir), str(layout.adapter_dir))
    analyze_and_index(layout, match, "spotter", settings, lambda stage: None)

    spotter = cascade_run.load_spotter(layout.spotter_dir, "cpu")
    preds = {c["clip_id"]: cascade_run.cascade_video(c["path"], spotter, progress=False)["events"]
             for c in sorted(clips, key=lambda c: c["clip_id"])[3:5]}
    (layout.root / "predictions").mkdir()
    (layout.predictions_file).write_text(json.dumps({"model_version": "spotter-test", "clips": preds}))
    library.update(layout)
    return layout.root


def match_analysis(root: Path) -> tuple[str, dict]:
    """(item id, kept analysis) of the match video."""
    (f,) = [p for p in (root / "analyses").glob("match-*.json")]
    return f"analysis:{f.stem}", json.loads(f.read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReviewServer:
    def __init__(self, root: Path, port: int, log: Path, proc: subprocess.Popen, extra: list[Path]):
        self.root, self.port, self.log, self.proc, self.extra = root, port, log, proc, extra
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.url + path, timeout=60, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return httpx.post(self.url + path, timeout=120, **kw)


@pytest.fixture(scope="session")
def review_server(review_root, tmp_path_factory) -> ReviewServer:
    """The ``football-events review`` command (the user's console script) over ``review_root`` (1 MB upload limit; a corrupt and a missing ``--analysis``
    file; a Label Studio URL and project for the task links)."""
    tmp = tmp_path_factory.mktemp("review_server")
    corrupt = tmp / "corrupt.json"
    corrupt.write_text('{"video": "x.mp4", "events": [')
    missing = tmp / "missing.json"
    port, log = free_port(), tmp / "review.log"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "TQDM_DISABLE": "1"}  # this checkout
    env.pop("FOOTBALL_DATA_DIR", None)
    with open(log, "w") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "football-events"), "review", "--data-dir", str(review_root),
                                 "--port", str(port), "--max-upload-mb", str(MAX_UPLOAD_MB), "--analysis", str(corrupt),
                                 "--analysis", str(missing), "--label-studio-url", "http://127.0.0.1:8080",
                                 "--label-studio-project", "7", "--device", "cpu"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = ReviewServer(review_root, port, log, proc, [corrupt, missing])
    deadline = time.monotonic() + 60
    while True:
        try:
            if server.get("/api/items").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, f"review server did not start:\n{log.read_text()}"
        time.sleep(0.3)
    yield server
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
