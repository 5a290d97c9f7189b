"""ffprobe/ffmpeg wrappers: probe, cut, resample to the model's 4 fps format, and validate.

Every failure is a ``VideoError`` whose message starts with the clip's name and says the cause, so
one bad clip reads clearly in the Dagster UI and never takes other clips down with it.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import ffmpeg
import numpy as np

from football_assets.core.checks import CheckResult
from football_assets.core.events import TARGET_FPS
from football_assets.core.fsutil import atomic_path

OUT_WIDTH, OUT_HEIGHT = 720, 480
DURATION_TOLERANCE_S = 0.5
MIN_DURATION_S = 1.0 / TARGET_FPS  # shorter than one output frame: nothing to resample


class VideoError(RuntimeError):
    """A clip that cannot be read, cut or resampled; the message names the clip and the cause."""

    def __init__(self, name: str, cause: str):
        super().__init__(f"{name}: {cause}")
        self.name, self.cause = name, cause


@dataclass(frozen=True)
class VideoInfo:
    duration: float
    fps: float  # average frame rate
    width: int  # display size, after rotation
    height: int
    codec: str
    pix_fmt: str
    rotation: int
    variable_frame_rate: bool
    nb_frames: int | None
    has_audio: bool
    decoded_frames: int | None = None  # only when probed with count_frames=True
    decode_errors: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _rate(text: str | None) -> float:
    try:
        value = Fraction(text or "0/1")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value)


def _rotation(stream: dict) -> int:
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            return int(round(float(side["rotation"]))) % 360
    return int(stream.get("tags", {}).get("rotate", 0)) % 360


def probe(path: Path | str, name: str | None = None, count_frames: bool = False) -> VideoInfo:
    """Read container and first video stream facts; raise ``VideoError`` when there is no usable video.

    ``count_frames`` also decodes every frame (one ffprobe pass) and records the count and any decode errors.
    """
    path = Path(path)
    name = name or path.name
    if not path.exists():
        raise VideoError(name, f"file not found: {path}")
    if path.stat().st_size == 0:
        raise VideoError(name, f"file is empty: {path}")
    cmd = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json"]
    proc = subprocess.run(cmd + (["-count_frames"] if count_frames else []) + [str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        reason = detail[-1] if detail else "ffprobe failed"
        reason = reason.replace(f"{path}: ", "")
        if "Invalid data found" in reason:
            reason = "invalid data (a truncated file, or not a video at all)"
        if "moov atom not found" in reason:
            reason = "truncated or incomplete mp4 (moov atom not found)"
        raise VideoError(name, f"not a readable video: {reason}")
    info = json.loads(proc.stdout)
    streams = info.get("streams", [])
    video = [s for s in streams if s.get("codec_type") == "video" and s.get("disposition", {}).get("attached_pic", 0) == 0]
    if not video:
        kinds = sorted({s.get("codec_type", "?") for s in streams}) or ["none"]
        raise VideoError(name, f"no video stream (streams: {', '.join(kinds)})")
    v = video[0]
    duration = float(v.get("duration") or info.get("format", {}).get("duration") or 0.0)
    avg, real = _rate(v.get("avg_frame_rate")), _rate(v.get("r_frame_rate"))
    rotation = _rotation(v)
    w, h = int(v.get("width", 0)), int(v.get("height", 0))
    if rotation in (90, 270):
        w, h = h, w
    nb = v.get("nb_frames")
    return VideoInfo(
        duration=duration,
        fps=avg or real,
        width=w,
        height=h,
        codec=v.get("codec_name", "?"),
        pix_fmt=v.get("pix_fmt", "?"),
        rotation=rotation,
        variable_frame_rate=bool(avg and real and abs(avg - real) / real > 0.01),
        nb_frames=int(nb) if nb and str(nb).isdigit() else None,
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
        decoded_frames=int(v["nb_read_frames"]) if count_frames and str(v.get("nb_read_frames", "")).isdigit() else None,
        decode_errors=proc.stderr.strip() if count_frames else "",
    )


def _run(stream, name: str, what: str) -> None:
    try:
        stream.run(quiet=True, overwrite_output=True)
    except ffmpeg.Error as exc:
        lines = [ln for ln in (exc.stderr or b"").decode(errors="replace").splitlines() if ln.strip()]
        raise VideoError(name, f"ffmpeg {what} failed: {lines[-1] if lines else 'unknown error'}") from None


def cut_segment(src: Path, dst: Path, start: float | None, end: float | None, name: str) -> None:
    """Cut [start, end) out of ``src`` with frame accuracy (re-encoded at source quality, audio dropped)."""
    info = probe(src, name)
    start = start or 0.0
    end = info.duration if end is None else min(end, info.duration)
    if start >= end:
        raise VideoError(name, f"segment start {start} s is not before end {end} s (source lasts {info.duration:.2f} s)")
    inp = ffmpeg.input(str(src), ss=start, t=end - start)
    with atomic_path(dst) as tmp:
        out = ffmpeg.output(inp.video, str(tmp), vcodec="libx264", preset="veryfast", crf=18, pix_fmt="yuv420p", movflags="+faststart")
        _run(out, name, "segment cut")


def transcode_args(src: Path | str, dst: Path | str, fps: int = TARGET_FPS, width: int = OUT_WIDTH, height: int = OUT_HEIGHT) -> list[str]:
    """The ffmpeg command line that makes a model clip: constant ``fps``, ``width``x``height`` with the
    aspect ratio kept by letterbox/pillarbox padding (black bars), H.264 yuv420p, faststart, no audio.
    ffmpeg applies rotation metadata itself (autorotate), so phone videos come out upright."""
    v = (
        ffmpeg.input(str(src)).video
        .filter("fps", fps=fps)
        .filter("scale", width, height, force_original_aspect_ratio="decrease", force_divisible_by=2)
        .filter("pad", width, height, "(ow-iw)/2", "(oh-ih)/2", color="black")
        .filter("setsar", 1)
    )
    out = ffmpeg.output(v, str(dst), vcodec="libx264", preset="veryfast", crf=23, pix_fmt="yuv420p",
                        movflags="+faststart", an=None, **{"fps_mode": "cfr"})
    return out.compile(overwrite_output=True)


def transcode_4fps(src: Path, dst: Path, name: str, fps: int = TARGET_FPS, width: int = OUT_WIDTH,
                   height: int = OUT_HEIGHT, source_duration: float | None = None, verify: bool = False) -> VideoInfo:
    """Resample ``src`` into the model clip at ``dst`` (atomically); return the output's ``VideoInfo``.

    Refuses sources shorter than one output frame, and outputs noticeably shorter than the source claims
    (a truncated or corrupt file), leaving nothing at ``dst``. The frame count comes from ffmpeg's own
    progress report (frames muxed), which saves a second process and full decode per clip; the format
    facts are the ones the command forces. ``verify`` decodes the output again with ffprobe instead.
    """
    if source_duration is None:
        source_duration = probe(src, name).duration
    if source_duration < MIN_DURATION_S:
        raise VideoError(name, f"too short: {source_duration:.3f} s is less than one frame at {fps} fps")
    with atomic_path(dst) as tmp:
        cmd = transcode_args(src, tmp, fps, width, height)
        cmd = [cmd[0], "-v", "error", "-nostats", "-progress", "pipe:1", *cmd[1:]]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            raise VideoError(name, f"ffmpeg transcode failed: {lines[-1] if lines else 'unknown error'}")
        if verify:
            out = probe(tmp, name, count_frames=True)
        else:
            frames = _progress_frames(proc.stdout)
            out = VideoInfo(duration=frames / fps, fps=float(fps), width=width, height=height, codec="h264",
                            pix_fmt="yuv420p", rotation=0, variable_frame_rate=False, nb_frames=frames,
                            has_audio=False, decoded_frames=frames)
        if out.duration < source_duration - DURATION_TOLERANCE_S:
            raise VideoError(name, f"decoded only {out.duration:.2f} s of {source_duration:.2f} s: file truncated or corrupt")
    return out


def _progress_frames(report: str) -> int:
    """The final ``frame=N`` of ffmpeg's ``-progress`` report: frames written to the output."""
    frames = [ln.split("=", 1)[1] for ln in report.splitlines() if ln.startswith("frame=")]
    return int(frames[-1]) if frames and frames[-1].strip().isdigit() else 0



#: The model-clip contract: check name -> what it requires (the blocking asset checks of ``clips_4fps``).
CLIP_CHECKS = {
    "constant_4fps": "Frame count equals duration x 4 within one frame, constant frame rate.",
    "size_720x480": "Frames are 720x480 (aspect ratio kept by padding).",
    "codec_h264": "H.264, yuv420p.",
    "duration_matches_source": "Duration > 0 and within 0.5 s of the raw clip.",
    "decodable": "Every frame decodes, to the last one.",
}


def validate_clip(path: Path | str, source_duration: float, fps: int = TARGET_FPS, width: int = OUT_WIDTH,
                  height: int = OUT_HEIGHT, info: VideoInfo | None = None) -> list[CheckResult]:
    """The model-clip contract, one outcome per rule (the asset checks of ``clips_4fps``).

    ``info`` may be the frame-counting probe ``transcode_4fps`` already made, saving a second decode.
    """
    if info is None or info.decoded_frames is None:
        try:
            info = probe(path, count_frames=True)
        except VideoError as exc:
            return [CheckResult(n, False, str(exc)) for n in CLIP_CHECKS]
    frames = info.decoded_frames if info.decoded_frames is not None else -1
    expected = info.duration * fps
    return [
        CheckResult("constant_4fps", abs(info.fps - fps) < 1e-3 and not info.variable_frame_rate and frames >= 0
                     and abs(frames - expected) <= 1,
                     f"{frames} frames over {info.duration:.3f} s at {info.fps:.3f} fps (expect {expected:.1f} +/- 1)"),
        CheckResult("size_720x480", (info.width, info.height) == (width, height), f"{info.width}x{info.height}"),
        CheckResult("codec_h264", info.codec == "h264" and info.pix_fmt == "yuv420p", f"{info.codec} {info.pix_fmt}"),
        CheckResult("duration_matches_source", info.duration > 0 and abs(info.duration - source_duration) <= DURATION_TOLERANCE_S,
                     f"{info.duration:.3f} s vs source {source_duration:.3f} s (tolerance {DURATION_TOLERANCE_S} s)"),
        CheckResult("decodable", frames > 0 and not info.decode_errors and (info.nb_frames is None or frames == info.nb_frames),
                     f"decoded {frames} of {info.nb_frames} frames" + (f"; errors: {info.decode_errors[:200]}" if info.decode_errors else "")),
    ]




def encode_frames(frames: Iterable[np.ndarray], dst: Path | str, fps: float, name: str | None = None, crf: int = 20) -> None:
    """Encode RGB frames (H x W x 3 uint8) into an H.264 mp4 at ``dst``, atomically (``crf``: x264 quality)."""
    dst = Path(dst)
    it = iter(frames)
    first = next(it)
    h, w = first.shape[:2]
    with atomic_path(dst) as tmp:
        proc = subprocess.Popen(
            ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps),
             "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
             "-movflags", "+faststart", str(tmp)], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            proc.stdin.write(first.tobytes())
            for frame in it:
                proc.stdin.write(frame.tobytes())
        finally:
            proc.stdin.close()
            err = proc.stderr.read().decode(errors="replace")
            proc.wait()
        if proc.returncode != 0:
            raise VideoError(name or dst.name, f"ffmpeg encode failed: {err.strip()}")


def read_frames(path: Path | str, width: int | None = None, height: int | None = None) -> np.ndarray:
    """Decode all frames of a (4 fps) clip to an array (T, H, W, 3) uint8, optionally resized."""
    info = probe(path)
    w, h = width or info.width, height or info.height
    stream = ffmpeg.input(str(path)).video
    if (w, h) != (info.width, info.height):
        stream = stream.filter("scale", w, h)
    out, _ = stream.output("pipe:", format="rawvideo", pix_fmt="rgb24").run(quiet=True)
    return np.frombuffer(out, np.uint8).reshape(-1, h, w, 3)
