"""bench/gpu_check.py --dry-run: every GPU check runs at tiny width on CPU, without the packages the GPU machine
lacks (Dagster, DeepSpeed, ffmpeg, matplotlib), from carried demo clips, and its JSON has every check's figures."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu_check.py"


def run(args: list[str], env: dict | None = None, timeout: int = 1200) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_dry_run_reports_every_check(tmp_path):
    data = tmp_path / "carried"
    prep = run(["--prepare", str(data)])
    assert prep.returncode == 0, prep.stderr[-2000:]
    clips = sorted((data / "clips").glob("*.mp4"))
    assert len(clips) == 8
    train_rows = [json.loads(x) for x in (data / "splits" / "train.jsonl").read_text().splitlines()]
    assert train_rows and all(r["video"].startswith("clips/") for r in train_rows)  # relative: they travel

    out = tmp_path / "out"
    out.mkdir()
    proc = run(["--dry-run", "--data", str(data)], env={"OUT": str(out)})
    result = json.loads((out / "gpu_check.json").read_text())
    assert proc.returncode == 0 and result["errors"] == {}, (result["errors"], proc.stderr[-2000:])
    assert result["dry_run"] is True and result["device"] == "cpu"
    assert set(result["checks"]) == {"train", "sanity", "inference", "spotter"}

    train = result["checks"]["train"]
    assert train["steps"] == 1 and train["batch"] == 2 and train["frames"] == 4
    assert train["params_trainable"] > 0 and train["tokens_per_s"] > 0 and train["samples_per_s"] > 0
    assert math.isfinite(train["first_loss"]) and train["plan_total_gb"] > 0 and train["host_peak_rss_gb"] > 0
    assert train["zero2"].startswith("skipped")  # DeepSpeed blocked, as on the GPU machine

    sanity = result["checks"]["sanity"]
    assert sanity["frozen_all_bf16"] is True and sanity["vision_trainable"] == 0
    assert sanity["trainable"]["language_model_lora"] == train["params_trainable"]
    assert set(sanity["memcpy_in_step"]) == {"HtoD", "DtoH"} and sanity["top_ops"]

    inf = result["checks"]["inference"]
    assert 1 <= inf["new_tokens"] <= 8 and inf["s_per_window"] > 0 and inf["tokens_per_s"] > 0
    assert inf["match_windows"] == math.ceil((90 * 60 - 8) / (8 - 2)) + 1
    assert math.isclose(inf["match_vlm_only_s"], inf["match_windows"] * inf["s_per_window"])
    assert math.isclose(inf["match_cascade_vlm_s"], inf["match_vlm_only_s"] * inf["cascade_share"])

    spot = result["checks"]["spotter"]
    from football_assets.core.spotter.model import NetConfig

    assert spot["backbone"] == NetConfig().backbone and spot["train_frames_per_s"] > 0 and spot["inference_frames_per_s"] > 0


def test_without_a_gpu_the_real_run_refuses_clearly(tmp_path):
    proc = run(["--data", str(tmp_path)], env={"CUDA_VISIBLE_DEVICES": ""}, timeout=300)
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr
