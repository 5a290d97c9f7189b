"""``football-events analyze`` with a spotter: cascade (the default), spotter alone, and the bad-input errors.

Real components: the 8 real demo clips and the one-step tiny adapter of ``trained_root``, a small spotter
trained on the same splits version through its real trainer, a multi-clip video joined with ffmpeg.
"""

import json
import shutil

import pytest

from football_assets import cli
from football_assets.core.inference import analyze
from football_assets.core.inference.cascade_run import resolve_mode
from football_assets.core.layout import DataLayout

EVENT_KEYS = {"event", "start_time", "end_time", "description", "confidence", "sources"}
SOURCE_KEYS = {"event", "start_time", "end_time", "confidence", "description"}


def _cli(*args) -> int:
    return cli.main(["analyze", *map(str, args)])


def _check_schema(result: dict, mode: str) -> None:
    assert set(result) == {"video", "mode", "model_version", "spotter_version", "duration", "domain", "vlm_windows",
                           "seconds", "events"}
    assert set(result["domain"]) == {"score", "in_domain", "threshold"}
    assert result["mode"] == mode and set(result["seconds"]) == {"spotter", "vlm"}
    for e in result["events"]:
        assert set(e) == EVENT_KEYS and set(e["sources"]) == SOURCE_KEYS, e
        assert 0 <= e["start_time"] < e["end_time"] <= result["duration"] + 1e-6 and 0 <= e["confidence"] <= 1
        assert set(e["sources"].values()) <= {"spotter", "vlm", "both", None}


def test_cascade_is_the_default_and_sends_only_proposal_windows(cascade_root, match_video, tmp_path, monkeypatch):
    monkeypatch.setenv("FOOTBALL_DATA_DIR", str(cascade_root))  # default --adapter and --spotter
    out = tmp_path / "events.json"
    assert _cli(match_video, "--out", out, "--proposal-threshold", "0.05") == 0
    result = json.loads(out.read_text())
    _check_schema(result, "cascade")
    assert result["model_version"] and result["spotter_version"]
    assert 20 < result["duration"] < 28  # three ~8 s clips
    windows = result["vlm_windows"]
    assert windows, "no window reached the VLM at a 0.05 proposal threshold"
    assert all(0 <= s < e <= result["duration"] + 1e-6 and e - s <= 8.0 + 1e-6 for s, e in windows)
    # a spotter-timed event keeps the spotter's fields; a VLM-only event is all VLM
    for e in result["events"]:
        src = e["sources"]
        assert src["start_time"] == src["end_time"] == src["confidence"]
        assert (src["description"] == "vlm") == (src["event"] in ("vlm", "both"))
        if src["start_time"] == "vlm":  # seen only by the VLM: it lies inside a window that was sent
            assert any(s - 1e-6 <= e["start_time"] and e["end_time"] <= w + 1e-6 for s, w in windows)
    # the val-chosen bar stored beside the adapter (here the top one, 1.0) drops the VLM-only events below it
    from football_assets.core.spotter.cascade import FusionRule, save_rule

    adapter = tmp_path / "adapter"
    shutil.copytree(DataLayout(cascade_root).models_dir / "lora_adapter", adapter)
    save_rule(adapter, FusionRule(1.0, result["model_version"], result["spotter_version"]))
    assert _cli(match_video, "--adapter", adapter, "--out", out, "--proposal-threshold", "0.05") == 0
    barred = json.loads(out.read_text())

    def split(events):
        return ([e for e in events if e["sources"]["event"] != "vlm"], [e for e in events if e["sources"]["event"] == "vlm"])

    assert split(barred["events"])[0] == split(result["events"])[0]  # what the spotter found is untouched
    assert all(e["confidence"] == 0.5 for e in split(barred["events"])[1])  # only VLM confidence 1.0 (x 0.5) passes


def test_spotter_mode_needs_no_vlm(cascade_root, match_video, tmp_path):
    out = tmp_path / "events.json"
    assert _cli(match_video, "--mode", "spotter", "--spotter", DataLayout(cascade_root).spotter_dir,
                "--adapter", tmp_path / "no-adapter-needed", "--out", out) == 0
    result = json.loads(out.read_text())
    _check_schema(result, "spotter")
    assert result["vlm_windows"] == [] and result["model_version"] is None and result["seconds"]["vlm"] == 0
    assert all(e["description"] == "" and e["sources"]["description"] is None for e in result["events"])
    assert all(e["sources"]["start_time"] == "spotter" for e in result["events"])


def test_mode_resolution(tmp_path):
    assert resolve_mode(None, tmp_path / "none") == "vlm"
    (tmp_path / "sp").mkdir()
    (tmp_path / "sp" / "spotter_config.json").write_text("{}")
    assert resolve_mode(None, tmp_path / "sp") == "cascade"
    assert resolve_mode("vlm", tmp_path / "sp") == "vlm"
    with pytest.raises(analyze.AnalyzeError, match="mode spotter: no spotter trained at .*none"):
        resolve_mode("spotter", tmp_path / "none")


def test_cli_no_spotter_and_mismatched_splits_are_clear_errors(cascade_root, match_video, tmp_path, capsys):
    layout = DataLayout(cascade_root)
    assert _cli(match_video, "--mode", "cascade", "--spotter", tmp_path / "missing", "--adapter", layout.adapter_dir) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no spotter trained at" in err and "missing" in err, err

    other = tmp_path / "event_spotter"
    shutil.copytree(layout.spotter_dir, other)
    meta = json.loads((other / "train_meta.json").read_text())
    (other / "train_meta.json").write_text(json.dumps({**meta, "splits_version": "other-v9"}))
    assert _cli(match_video, "--spotter", other, "--adapter", layout.adapter_dir) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'other-v9'" in err and "'test-v1'" in err and str(other) in err, err

    (other / "model.safetensors").write_bytes(b"not weights")
    assert _cli(match_video, "--spotter", other, "--adapter", layout.adapter_dir) == 2
    assert f"spotter {other} cannot be loaded" in capsys.readouterr().err


def test_explicit_adapter_with_default_spotter_of_other_splits_runs_the_vlm_alone(cascade_root, match_video, tmp_path,
                                                                                   monkeypatch, capsys):
    """The data directory's default spotter was trained on other splits than the adapter the user names: the
    VLM alone runs, and one line says why and which flag gives the cascade."""
    layout = DataLayout(cascade_root)
    data = DataLayout(tmp_path / "data")
    shutil.copytree(layout.spotter_dir, data.spotter_dir)
    meta = json.loads((data.spotter_dir / "train_meta.json").read_text())
    (data.spotter_dir / "train_meta.json").write_text(json.dumps({**meta, "splits_version": "other-v9"}))
    monkeypatch.setenv("FOOTBALL_DATA_DIR", str(data.root))
    out = tmp_path / "events.json"
    assert _cli(match_video, "--adapter", layout.adapter_dir, "--out", out, "--max-new-tokens", "8") == 0
    err = capsys.readouterr().err
    assert "note: " in err and "running the VLM alone" in err and "--spotter" in err, err
    result = json.loads(out.read_text())
    assert "mode" not in result and result["model_version"]  # the VLM-only output
