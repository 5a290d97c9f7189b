"""Real LoRA training of the tiny Qwen2.5-VL on real 4 fps demo clips (CPU): loss goes down, the adapter
loads and answers, a killed run resumes from its checkpoint, DeepSpeed ZeRO-2 runs on 2 gloo processes,
and bad configurations fail with a clear error."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from football_assets.core import prompts
from football_assets.core.training.model import UnknownModelError
from football_assets.core.training.train import CONFIG_DIR, TrainConfig, TrainConfigError
from tests.fixtures_training import tiny_config

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def launch(cmd: list[str], cfg: dict, tmp: Path, name: str) -> subprocess.Popen:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(cfg))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    log = open(tmp / f"{name}.log", "w")
    return subprocess.Popen([*cmd, "--config", str(path)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def finish(proc: subprocess.Popen, tmp: Path, name: str, timeout: int = 400) -> dict:
    rc = proc.wait(timeout=timeout)
    log = (tmp / f"{name}.log").read_text()
    assert rc == 0, log[-3000:]
    return log


def test_short_training_lowers_loss_and_adapter_answers(demo_splits, tmp_path):
    layout, splits_dir = demo_splits
    out = tmp_path / "run"
    cfg = tiny_config(splits_dir, out, max_steps=8, save_steps=100, demo_pretrain_steps=4)
    finish(launch([PY, "-m", "football_assets.core.training.train"], cfg, tmp_path, "train"), tmp_path, "train")
    metrics = json.loads((out / "metrics.json").read_text())
    losses = [p["loss"] for p in metrics["loss_curve"]]
    assert len(losses) == 8
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.5, losses
    assert metrics["steps"] == 8 and metrics["tokens_seen"] > 0 and metrics["peak_memory_mb"] > 0
    assert len(metrics["demo_pretrain_loss"]) == 2  # the demo base's vision pretraining ran first
    # each of the 4 train clips decoded once although 16 samples (2 epochs of several tasks) were seen
    assert metrics["video_decodes"] == 4
    assert (out / "loss_curve.png").stat().st_size > 1000
    adapter = out / "adapter"
    meta = json.loads((adapter / "train_meta.json").read_text())
    assert meta["base_model"] == "tiny" and meta["splits_version"] == "test-v1" and meta["model_version"].startswith("tiny-")
    acfg = json.loads((adapter / "adapter_config.json").read_text())
    assert "language_model" in acfg["target_modules"] and acfg["r"] == 16

    from football_assets.core.inference.predictor import EventPredictor

    sample = json.loads((splits_dir / "test.jsonl").read_text().splitlines()[0])
    pred = EventPredictor("tiny", adapter)
    text = pred.generate(sample["video"], max_new_tokens=8)
    longer = pred.generate(sample["video"], max_new_tokens=16)
    # greedy: a longer budget continues the same answer (a cut multi-byte character may end the short one)
    assert text.rstrip("\ufffd").strip() and longer.startswith(text.rstrip("\ufffd").rstrip())
    try:
        expected = prompts.parse_events(text)
    except prompts.AnswerParseError:
        expected = []  # an unparseable answer finds nothing
    got = pred.predict_events(sample["video"], max_new_tokens=8)
    assert [{k: e[k] for k in ("event", "start_time", "end_time", "description")} for e in got] == expected
    assert all(0 < e["confidence"] <= 1 for e in got)
    # the adapter really changes the model: decoding freely (8 tokens are too few for a constrained event, so both
    # would close with []), the base without it answers differently
    free = EventPredictor("tiny", adapter, constrain=False).generate(sample["video"], max_new_tokens=8)
    base = EventPredictor("tiny", None, base_path=str(adapter / "base"), constrain=False)
    assert base.generate(sample["video"], max_new_tokens=8) != free


def test_training_resumes_after_kill(demo_splits, tmp_path):
    layout, splits_dir = demo_splits
    out = tmp_path / "run"
    cfg = tiny_config(splits_dir, out, max_steps=12, save_steps=2)
    proc = launch([PY, "-m", "football_assets.core.training.train"], cfg, tmp_path, "first")
    ckpts = out / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        done = [p for p in ckpts.glob("checkpoint-*") if (p / "trainer_state.json").exists()] if ckpts.exists() else []
        if done:
            break
        time.sleep(0.5)
    assert proc.poll() is None, "training finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "metrics.json").exists()
    killed_at = max(int(p.name.split("-")[1]) for p in ckpts.glob("checkpoint-*"))
    assert 0 < killed_at < 12
    finish(launch([PY, "-m", "football_assets.core.training.train"], cfg, tmp_path, "second"), tmp_path, "second")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from"] and metrics["resumed_from"].endswith(f"checkpoint-{killed_at}")
    assert metrics["steps"] == 12
    # the resumed run only logged the steps after the checkpoint; the history keeps all of them
    assert [p["step"] for p in metrics["loss_curve"]] == list(range(1, 13))


def test_deepspeed_zero2_two_cpu_processes(demo_splits, tmp_path):
    """The DeepSpeed engine really runs: ZeRO-2 checkpoints (per-rank optimizer partitions) are written
    and a second run resumes from them."""
    layout, splits_dir = demo_splits
    out = tmp_path / "run"
    ds = str(CONFIG_DIR / "ds_zero2.json")
    cmd = [str(Path(PY).parent / "torchrun"), "--nproc_per_node=2", "--master_port=29561", "-m", "football_assets.core.training.train"]
    cfg = tiny_config(splits_dir, out, max_steps=2, batch_size=1, save_steps=2, deepspeed=ds)
    finish(launch(cmd, cfg, tmp_path, "ds"), tmp_path, "ds", timeout=600)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["steps"] == 2 and metrics["deepspeed"].endswith("ds_zero2.json")
    assert metrics["engine"] == "DeepSpeedEngine"
    zero = out / "checkpoints" / "checkpoint-2" / "global_step2"
    # ZeRO stage 2 partitions the optimizer state: one file per rank, written by the DeepSpeed engine
    assert sorted(p.name for p in zero.iterdir()) == ["mp_rank_00_model_states.pt"] + [
        f"zero_pp_rank_{r}_mp_rank_00_optim_states.pt" for r in range(2)]
    assert (out / "checkpoints" / "checkpoint-2" / "latest").read_text().strip() == "global_step2"

    cfg = tiny_config(splits_dir, out, max_steps=4, batch_size=1, save_steps=2, deepspeed=ds)
    finish(launch(cmd, cfg, tmp_path, "ds2"), tmp_path, "ds2", timeout=600)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from"].endswith("checkpoint-2") and metrics["steps"] == 4
    assert metrics["engine"] == "DeepSpeedEngine"
    assert [p["step"] for p in metrics["loss_curve"]] == [1, 2, 3, 4]
    assert len(list((out / "checkpoints" / "checkpoint-4" / "global_step4").glob("*optim_states.pt"))) == 2
    assert (out / "adapter" / "adapter_model.safetensors").exists()


def test_bad_configurations_fail_clearly(demo_splits, tmp_path):
    layout, splits_dir = demo_splits
    with pytest.raises(UnknownModelError, match="unknown model 'gpt-9'.*tiny"):
        TrainConfig.from_dict(tiny_config(splits_dir, tmp_path, model="gpt-9"))
    with pytest.raises(TrainConfigError, match="lora_r must be >= 1"):
        TrainConfig.from_dict(tiny_config(splits_dir, tmp_path, lora_r=0))
    with pytest.raises(TrainConfigError, match="train.jsonl missing"):
        TrainConfig.from_dict(tiny_config(tmp_path / "nowhere", tmp_path))
    with pytest.raises(TrainConfigError, match="unknown task.*'nope'.*'grounding_text'"):
        TrainConfig.from_dict(tiny_config(splits_dir, tmp_path, tasks=["events", "nope"]))
    assert TrainConfig.from_dict(tiny_config(splits_dir, tmp_path)).tasks == ["events", "grounding", "grounding_text"]
    with pytest.raises(TrainConfigError, match="unknown training config field.*lr"):
        TrainConfig.from_dict({**tiny_config(splits_dir, tmp_path), "lr": 1})
    # the command line exits non-zero with the cause on stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tiny_config(splits_dir, tmp_path, model="gpt-9")))
    proc = subprocess.run([PY, "-m", "football_assets.core.training.train", "--config", str(bad)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "unknown model 'gpt-9'" in proc.stderr
