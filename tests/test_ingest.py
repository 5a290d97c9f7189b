"""raw_clips -> clips_4fps through real Dagster materializations with the real ffmpeg and yt-dlp."""

import shutil

import pytest

from football_assets.core.ingest.sources import demo_sources
from football_assets.core.ingest.video import OUT_HEIGHT, OUT_WIDTH, probe, read_frames, validate_clip
from tests.fixtures_video import failure_message, leftovers, make_video


def check_results(result) -> dict[str, bool]:
    return {ev.asset_check_evaluation_data.check_name: ev.asset_check_evaluation_data.passed
            for ev in result.all_events if ev.event_type_value == "ASSET_CHECK_EVALUATION"}


def metadata(result, asset: str) -> dict:
    mats = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
            if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in mats[-1].metadata.items()}


def test_demo_clip_materializes_with_green_checks(clip_runner):
    key = clip_runner.add(demo_sources(3)[1])
    result = clip_runner.run(key)
    assert result.success, failure_message(result)
    checks = check_results(result)
    assert set(checks) == {"has_video_stream", "constant_4fps", "size_720x480", "codec_h264",
                           "duration_matches_source", "decodable"}
    assert all(checks.values()), checks
    meta = metadata(result, "clips_4fps")
    assert meta["frames"] == 32 and meta["duration_s"] == pytest.approx(8.0)
    raw = metadata(result, "raw_clips")
    assert raw["source_kind"] == "demo" and raw["fps"] == 25 and len(raw["sha256"]) == 64
    assert not (clip_runner.layout.root / "labels").exists()  # labels are the annotation stage's, not ingest's
    assert leftovers(clip_runner.layout) == []


def test_second_materialization_downloads_and_encodes_nothing(clip_runner, media):
    key = clip_runner.add({"path": str(media.good())})
    assert clip_runner.run(key).success
    clip = clip_runner.layout.clip(key)
    stamp = clip.stat().st_mtime_ns, clip_runner.layout.raw_clip(key).stat().st_mtime_ns
    again = clip_runner.run(key)
    assert again.success
    assert metadata(again, "raw_clips")["cached"] is True
    assert metadata(again, "clips_4fps")["cached"] is True
    assert (clip.stat().st_mtime_ns, clip_runner.layout.raw_clip(key).stat().st_mtime_ns) == stamp


def test_changed_local_file_is_fetched_again(clip_runner, media):
    src = media.good(seconds=2.0)
    key = clip_runner.add({"path": str(src)})
    assert clip_runner.run(key).success
    make_video(src, seconds=3.0)
    result = clip_runner.run(key)
    assert result.success and metadata(result, "raw_clips")["cached"] is False
    assert metadata(result, "clips_4fps")["duration_s"] == pytest.approx(3.0)


def test_segment_cut_from_long_local_file(clip_runner, media):
    key = clip_runner.add({"path": str(media.good("match.mp4", seconds=10.0)), "start": 2.5, "end": 6.5})
    result = clip_runner.run(key)
    assert result.success, failure_message(result)
    assert metadata(result, "raw_clips")["duration_s"] == pytest.approx(4.0, abs=0.05)
    assert metadata(result, "clips_4fps")["frames"] == 16


def test_url_is_downloaded_with_yt_dlp_from_loopback_server(clip_runner, media, http_root):
    www, base = http_root
    shutil.copy(media.good(seconds=2.0), www / "match.mp4")
    key = clip_runner.add({"url": f"{base}/match.mp4", "license": "test"})
    result = clip_runner.run(key)
    assert result.success, failure_message(result)
    assert metadata(result, "raw_clips")["source_kind"] == "url"
    assert metadata(result, "clips_4fps")["frames"] == 8
    again = clip_runner.run(key)
    assert metadata(again, "raw_clips")["cached"] is True


def test_url_that_404s_fails_clearly_and_leaves_nothing(clip_runner, http_root):
    _, base = http_root
    key = clip_runner.add({"url": f"{base}/missing.mp4"})
    result = clip_runner.run(key)
    assert not result.success
    msg = failure_message(result)
    assert key in msg and "download failed" in msg and "404" in msg
    assert not clip_runner.layout.raw_clip(key).exists()
    assert leftovers(clip_runner.layout) == []


def test_odd_title_over_http_and_on_disk_gives_safe_keys(clip_runner, media, http_root):
    www, base = http_root
    odd = media.odd_title()
    shutil.copy(odd, www / "Ünïcødé ⚽ final ..mp4")
    keys = [clip_runner.add({"path": str(odd)}), clip_runner.add({"url": f"{base}/%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%E2%9A%BD%20final%20..mp4"})]
    for key in keys:
        assert all(c.isalnum() or c == "-" for c in key) and ".." not in key
        result = clip_runner.run(key)
        assert result.success, failure_message(result)
        assert clip_runner.layout.clip(key).parent == clip_runner.layout.clips_dir


FAILING = {
    "missing": (lambda m: m.root / "nope.mp4", "source file not found"),
    "truncated": (lambda m: m.truncated(), "truncated"),
    "truncated_faststart": (lambda m: m.truncated_faststart(), "truncated or corrupt"),
    "text_file": (lambda m: m.text_file(), "not a video"),
    "audio_only": (lambda m: m.audio_only(), "no video stream"),
    "one_frame": (lambda m: m.one_frame(), "too short"),
}


@pytest.mark.parametrize("kind", sorted(FAILING))
def test_bad_input_fails_with_one_clear_message(clip_runner, media, kind):
    make, expected = FAILING[kind]
    key = clip_runner.add({"path": str(make(media))})
    result = clip_runner.run(key)
    assert not result.success
    msg = failure_message(result)
    assert msg.startswith(f"VideoError: {key}: ") or f"{key}: " in msg, msg
    assert expected in msg, msg
    assert not clip_runner.layout.clip(key).exists()
    assert leftovers(clip_runner.layout) == []


CONVERTED = {
    "vfr": (lambda m: m.vfr(), "pillarbox"),
    "rotated": (lambda m: m.rotated(), "pillarbox"),
    "uhd60": (lambda m: m.uhd60(), "letterbox"),
    "portrait": (lambda m: m.portrait(), "pillarbox"),
    "ntsc": (lambda m: m.ntsc(), "pillarbox"),
}


@pytest.mark.parametrize("kind", sorted(CONVERTED))
def test_awkward_input_yields_a_correct_4fps_clip(clip_runner, media, kind):
    make, padding = CONVERTED[kind]
    src = make(media)
    key = clip_runner.add({"path": str(src)})
    result = clip_runner.run(key)
    assert result.success, failure_message(result)
    assert all(check_results(result).values()), check_results(result)
    meta = metadata(result, "clips_4fps")
    assert meta["padding"].startswith(padding)
    info = probe(clip_runner.layout.clip(key))
    assert (info.width, info.height, info.fps) == (OUT_WIDTH, OUT_HEIGHT, 4.0)
    frame = read_frames(clip_runner.layout.clip(key))[0]
    bars = (frame[:, :20], frame[:, -20:]) if padding == "pillarbox" else (frame[:20], frame[-20:])
    assert all(b.max() < 40 for b in bars)  # black bars on the padded sides (rotation applied for the phone video)
    assert frame[200:280, 330:390].mean() > 40  # the picture itself in the middle


def test_one_bad_clip_does_not_stop_the_others(clip_runner, media):
    bad = clip_runner.add({"path": str(media.text_file())})
    good = clip_runner.add({"path": str(media.good())})
    assert not clip_runner.run(bad).success
    assert clip_runner.run(good).success
    assert clip_runner.layout.clip(good).exists() and not clip_runner.layout.clip(bad).exists()


def test_each_check_fails_on_a_deliberately_wrong_file(tmp_path, media):
    src = media.good(seconds=3.0)

    def transcode(name, *args):
        out = tmp_path / name
        subprocess_args = ["-i", str(src), *args, str(out)]
        from tests.fixtures_video import ffmpeg
        ffmpeg(*subprocess_args)
        return out

    good = transcode("good.mp4", "-vf", "fps=4,scale=720:480", "-c:v", "libx264", "-pix_fmt", "yuv420p")
    assert all(o.passed for o in validate_clip(good, 3.0))
    cases = {
        "constant_4fps": transcode("fps10.mp4", "-vf", "fps=10,scale=720:480", "-c:v", "libx264", "-pix_fmt", "yuv420p"),
        "size_720x480": transcode("small.mp4", "-vf", "fps=4,scale=640:480", "-c:v", "libx264", "-pix_fmt", "yuv420p"),
        "codec_h264": transcode("mpeg4.mp4", "-vf", "fps=4,scale=720:480", "-c:v", "mpeg4", "-pix_fmt", "yuv420p"),
        "duration_matches_source": good,  # validated against a 5 s source below
    }
    for check, path in cases.items():
        source_duration = 5.0 if check == "duration_matches_source" else 3.0
        outcome = {o.name: o for o in validate_clip(path, source_duration)}
        assert not outcome[check].passed, (check, outcome[check])
    broken = tmp_path / "broken.mp4"
    data = good.read_bytes()
    broken.write_bytes(data[: int(len(data) * 0.6)])
    assert not {o.name: o for o in validate_clip(broken, 3.0)}["decodable"].passed
