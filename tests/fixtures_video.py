"""Test media made with the real ffmpeg, a loopback HTTP server for the yt-dlp path, and a Dagster
helper that materializes one clip partition into a temporary data root."""

import functools
import http.server
import subprocess
import threading
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from football_assets.core.ingest import catalog
from football_assets.core.ingest.sources import ClipSource, parse_entry
from football_assets.core.layout import DataLayout
from football_assets.defs.ingest.assets import ingest_clips
from resources import DataDirResource


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def make_video(path: Path, seconds: float = 3.0, size: str = "320x240", rate: str = "25", extra: tuple = (),
               vf: str | None = None) -> Path:
    """A testsrc video (H.264 mp4 unless ``extra`` says otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if vf:
        args += ["-vf", vf]
    ffmpeg(*args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra, str(path))
    return path


class Media:
    """Builds each kind of (good and bad) input video on demand in one folder."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def good(self, name="good.mp4", seconds=3.0):
        return make_video(self.root / name, seconds)

    def truncated(self):
        # moov at the end (no faststart): cutting the file loses the index
        src = make_video(self.root / "whole.mp4", 4.0)
        data = src.read_bytes()
        out = self.root / "truncated.mp4"
        out.write_bytes(data[: len(data) // 2])
        return out

    def truncated_faststart(self):
        src = make_video(self.root / "whole_fs.mp4", 6.0, extra=("-movflags", "+faststart"))
        data = src.read_bytes()
        out = self.root / "truncated_faststart.mp4"
        out.write_bytes(data[: len(data) // 2])
        return out

    def text_file(self):
        out = self.root / "notes.mp4"
        out.write_text("this is not a video\n")
        return out

    def audio_only(self):
        out = self.root / "audio.mp4"
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", str(out))
        return out

    def one_frame(self):
        out = self.root / "one_frame.mp4"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "1", "-c:v", "libx264",
               "-pix_fmt", "yuv420p", str(out))
        return out

    def vfr(self):
        # first second at 30 fps, then every third frame: variable frame intervals
        return make_video(self.root / "vfr.mp4", 4.0, rate="30", vf="select='lt(n\\,30)+not(mod(n\\,3))'",
                          extra=("-fps_mode", "vfr"))

    def rotated(self):
        src = make_video(self.root / "landscape.mp4", 2.0, size="640x360")
        out = self.root / "phone_rotated.mp4"
        ffmpeg("-i", str(src), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(out))
        return out

    def uhd60(self):
        return make_video(self.root / "uhd60.mp4", 1.0, size="3840x2160", rate="60")

    def portrait(self):
        return make_video(self.root / "portrait.mp4", 2.0, size="360x640")

    def ntsc(self):
        return make_video(self.root / "ntsc.mp4", 3.0, rate="30000/1001")

    def odd_title(self):
        return make_video(self.root / "Ünïcødé ⚽ final ..mp4", 2.0)


@pytest.fixture
def media(tmp_path) -> Media:
    return Media(tmp_path / "media")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_root(tmp_path):
    """Serve a folder on 127.0.0.1 (a free port) for yt-dlp's generic extractor; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class ClipRunner:
    """Registers sources and materializes raw_clips + clips_4fps per partition on a temp instance."""

    def __init__(self, root: Path):
        self.layout = DataLayout(root / "data")
        self.storage = DataDirResource(root=str(self.layout.root), manifest=str(root / "sources.yaml"))
        self.instance = DagsterInstance.ephemeral()

    def add(self, entry: dict | ClipSource) -> str:
        src = entry if isinstance(entry, ClipSource) else parse_entry(entry, 0, self.layout.root)
        catalog.register(self.layout, [src])
        self.instance.add_dynamic_partitions("clips", [src.key])
        return src.key

    def run(self, key: str):
        return materialize([ingest_clips], partition_key=key, instance=self.instance,
                           resources={"storage": self.storage}, raise_on_error=False)


@pytest.fixture
def clip_runner(tmp_path) -> ClipRunner:
    return ClipRunner(tmp_path)


def failure_message(result) -> str:
    """The first failed step's error text, its causes included."""
    for ev in result.all_events:
        if ev.is_step_failure:
            error, parts = ev.step_failure_data.error, []
            while error is not None:
                parts.append(error.message.strip())
                error = error.cause
            return "\n".join(parts)
    return ""


def leftovers(layout: DataLayout) -> list[Path]:
    """Temp files an interrupted or failed step would leave (they start with a dot)."""
    return [p for p in layout.root.rglob(".*") if p.is_file() or p.is_dir()]

