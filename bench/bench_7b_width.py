"""The 7B rehearsed at full width on CPU: Qwen2.5-VL-7B's real widths with 1-2 layers, through the project's own paths.

    .venv/bin/python bench/bench_7b_width.py [--splits-dir DIR] [--steps 4] [--frames 32]

The models are ``model.WIDTH_SPECS`` (text hidden 3584 / intermediate 18944 / 28 heads / 4 KV heads / vocab
152064, vision hidden 1280 / intermediate 3420 / 16 heads, the last vision block full attention; seeded random
weights, the real tokenizer) at the 7B preset's video budget (32 frames of 336x504 -> 3456 video tokens). For
each of (1 text layer, 1 vision block), (2, 1) and (1, 2) it runs the trainer as the user does
(``python -m football_assets.core.training.train --config``: LoRA r 64 on the language model, gradient
checkpointing, the ZeRO-2 config in one process) for a few steps on one repeated sample, and records the
process's peak RSS and the step times. On the 1-layer adapter it then answers one evaluation sample with
``EventPredictor`` and runs ``football-events analyze`` on one window. The per-layer deltas (2 - 1 layers) are
extrapolated to the 7B's 28 text / 32 vision layers and set beside ``preflight.plan`` for the same settings.
Results replace the "## 7B at full width" section of bench/RESULTS.md.

Without ``--splits-dir`` it renders the 8 demo clips into a temp dir.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEVEN = "cosmos-reason1-7b"
PROFILE = "a100-80gb"
TEXT_LAYERS, VISION_LAYERS = 28, 32


def width_run_config(model: str, splits_dir: str | Path, out: str | Path, steps: int, max_frames: int | None = None,
                     learning_rate: float = 1e-3) -> dict:
    """A trainer config for a width spec: the 7B preset on the a100-80gb profile (LoRA r 64, bf16 weights, gradient
    checkpointing, ZeRO-2, the 7B video budget), with batch 1 on one repeated sample for ``steps`` steps.

    The learning rate is raised from the preset's 1e-4 so that a few steps visibly lower the loss; checkpoints are
    off (DeepSpeed would write the frozen 1 B parameters in every one)."""
    from football_assets.core.training.train_args import resolve

    values, _ = resolve(None, SEVEN, PROFILE)
    values.update(model=model, splits_dir=str(splits_dir), output_dir=str(out), splits_version="bench",
                  max_steps=steps, per_device_train_batch_size=1, gradient_accumulation_steps=1, max_train_samples=1,
                  tasks=["events"], learning_rate=learning_rate, lr_scheduler_type="constant", warmup_steps=0.0,
                  lora_dropout=0.0, save_strategy="no", logging_steps=1)
    if max_frames:
        values["max_frames"] = max_frames
    return values


def run_trainer(cfg: dict, tmp: Path, name: str, timeout: int = 3600) -> dict:
    """``python -m football_assets.core.training.train --config`` in its own process; its metrics.json and step times."""
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(cfg))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "football_assets.core.training.train", "--config", str(path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.time() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"trainer {name} failed (rc {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    metrics = json.loads((Path(cfg["output_dir"]) / "metrics.json").read_text())
    metrics["process_wall_s"] = wall
    return metrics


def measure_predict(adapter: Path, sample: dict) -> dict:
    """Load the adapter on its rebuilt base (EventPredictor), answer one evaluation sample; RSS in this process."""
    import resource

    from football_assets.core.inference.predictor import EventPredictor

    t0 = time.time()
    pred = EventPredictor(sample["base"], adapter, dtype="bfloat16")
    load_s = time.time() - t0
    t0 = time.time()
    answer = pred.generate_scored(sample["video"], sample.get("fps", 4), max_new_tokens=sample.get("max_new_tokens", 16))
    return {"load_s": load_s, "answer_s": time.time() - t0, "answer": answer.text,
            "answer_tokens": len(answer.token_ids) if hasattr(answer, "token_ids") else None,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def run_analyze(adapter: Path, video: str, out: Path, window_s: float) -> dict:
    """``football-events analyze`` on one window: the whole clip (its frames sampled to the adapter's budget)."""
    t0 = time.time()
    proc = subprocess.run([str(Path(sys.executable).parent / "football-events"), "analyze", video, "--adapter", str(adapter),
                           "--out", str(out), "--dtype", "bfloat16", "--window", str(window_s), "--overlap", "0"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"analyze failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
    return {"wall_s": time.time() - t0, "result": json.loads(out.read_text())}


def planned(model: str, values: dict) -> dict:
    """``preflight.plan`` for these values under ``model`` (memory items in GB, tokens)."""
    from football_assets.core.training import preflight

    p = preflight.plan({**values, "model": model}, PROFILE, budget_gb=None)
    return {"memory_gb": p.memory_gb, "tokens": p.tokens, "params": p.params}


def extrapolate(runs: dict) -> dict:
    """Per-layer deltas (2 - 1 layers) of peak RSS and step time, and the 28/32-layer figures they give."""
    base, text2, vis2 = runs["t1v1"], runs["t2v1"], runs["t1v2"]
    out = {}
    for key in ("peak_rss_gb", "step_s"):
        d_text, d_vis = text2[key] - base[key], vis2[key] - base[key]
        out[key] = {"t1v1": base[key], "per_text_layer": d_text, "per_vision_block": d_vis,
                    "full": base[key] + (TEXT_LAYERS - 1) * d_text + (VISION_LAYERS - 1) * d_vis}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits-dir")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--json", default=None, help="also write every figure here")
    ap.add_argument("--no-results", action="store_true", help="do not rewrite bench/RESULTS.md")
    a = ap.parse_args()
    import torch

    from football_assets.core.fsutil import read_jsonl

    tmp = Path(tempfile.mkdtemp(prefix="bench7bw-"))
    splits_dir = a.splits_dir
    if not splits_dir:
        from football_assets.core.layout import DataLayout
        from tests.fixtures_training import make_demo_clips, write_splits

        layout = DataLayout(tmp / "data")
        splits_dir = str(write_splits(layout, make_demo_clips(layout)))
    runs: dict = {}
    val = next(s for s in read_jsonl(Path(splits_dir) / "val.jsonl") if s.get("task") == "events")
    predict = analyze = None
    for tag in ("t1v1", "t2v1", "t1v2"):
        model = f"qwen25vl-7b-width-{tag}"
        m = run_trainer(width_run_config(model, splits_dir, tmp / tag, a.steps, a.frames), tmp, tag)
        runs[tag] = {"model": model, "peak_rss_gb": m["peak_memory_mb"] / 1024, "train_runtime_s": m["train_runtime_s"],
                     "step_s": m["train_runtime_s"] / max(1, m["steps"]), "losses": [h["loss"] for h in m["loss_curve"]],
                     "engine": m["engine"], "params_total": m["params_total"], "params_trainable": m["params_trainable"],
                     "tokens_per_sample": m["tokens_seen"] / max(1, m["steps"]), "process_wall_s": m["process_wall_s"]}
        print(tag, json.dumps(runs[tag]), flush=True)
        if tag == "t1v1":  # save, load, answer, analyze on the 1-layer adapter first
            adapter = tmp / tag / "adapter"
            predict = measure_predict(adapter, {"base": model, "video": val["video"], "fps": val.get("fps", 4)})
            print("predict", json.dumps(predict), flush=True)
            analyze = run_analyze(adapter, val["video"], tmp / "analyze.json", val["duration"])
            print("analyze", json.dumps({"wall_s": analyze["wall_s"]}), flush=True)
    cfg = width_run_config("qwen25vl-7b-width-t1v1", splits_dir, tmp / "t1v1", a.steps, a.frames)
    seven_values = {k: v for k, v in cfg.items() if k != "model"}
    full = extrapolate(runs)
    plan_full = planned(SEVEN, seven_values)
    plan_t1v1 = planned("qwen25vl-7b-width-t1v1", seven_values)
    figures = {"runs": runs, "extrapolated": full, "plan_7b": plan_full, "plan_t1v1": plan_t1v1, "predict": predict,
               "analyze_wall_s": analyze["wall_s"], "analyze_events": len(analyze["result"].get("events", [])),
               "threads": torch.get_num_threads(), "frames": a.frames, "steps": a.steps}
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=1))
    text = report(figures)
    print(text)
    if not a.no_results:
        write_section(text)
    return 0


def report(f: dict) -> str:
    r, x, p7, p1 = f["runs"], f["extrapolated"], f["plan_7b"], f["plan_t1v1"]
    lines = [
        "## 7B at full width",
        "",
        f"Qwen2.5-VL at the 7B's real widths with few layers, random seeded weights (`model.WIDTH_SPECS`), the real "
        f"tokenizer, {f['frames']} frames at the 7B preset's pixels ({p7['tokens']['height']}x{p7['tokens']['width']}, "
        f"{p7['tokens']['video']} video tokens, {r['t1v1']['tokens_per_sample']:.0f} tokens/sample), through the project's "
        f"trainer (`python -m football_assets.core.training.train`: LoRA r 64 on the language model, gradient "
        f"checkpointing, ZeRO-2 config in one process, engine `{r['t1v1']['engine']}`), bf16 weights on CPU "
        f"({f['threads']} torch threads, a shared 2-core machine), batch 1, {f['steps']} steps on one repeated sample. "
        f"`bench/bench_7b_width.py --frames {f['frames']} --steps {f['steps']}`.",
        "",
        "| layers (text, vision) | params | peak RSS GB | s/step | loss by step |",
        "|---|---|---|---|---|",
    ]
    for tag, (t, v) in (("t1v1", (1, 1)), ("t2v1", (2, 1)), ("t1v2", (1, 2))):
        lines.append(f"| {t}, {v} | {r[tag]['params_total'] / 1e9:.3f} B | {r[tag]['peak_rss_gb']:.2f} | "
                     f"{r[tag]['step_s']:.1f} | {' '.join(f'{v:.3f}' for v in r[tag]['losses'])} |")
    m, s = x["peak_rss_gb"], x["step_s"]
    lines += [
        "",
        f"Per layer: {m['per_text_layer']:+.2f} GB and {s['per_text_layer']:+.1f} s a text layer, "
        f"{m['per_vision_block']:+.2f} GB and {s['per_vision_block']:+.1f} s a vision block. "
        f"Extrapolated to 28 text / 32 vision layers: **{m['full']:.1f} GB peak RSS**, {s['full']:.0f} s a step on this CPU "
        "(time deltas are noise on a loaded machine: compare them only on a quiet one).",
        "",
        f"Preflight plan for the same settings (bf16, checkpointing, ZeRO-2, batch 1, {p7['tokens']['per_sample']} "
        f"planned tokens/sample): 7B total {p7['memory_gb']['total']:.1f} GB "
        f"(frozen weights {p7['memory_gb']['frozen_weights']:.1f}, activations {p7['memory_gb']['activations']:.1f}, "
        f"logits {p7['memory_gb']['logits']:.1f}, vision forward {p7['memory_gb']['vision_forward']:.1f}); "
        f"for the 1-layer model {p1['memory_gb']['total']:.1f} GB "
        f"(frozen weights {p1['memory_gb']['frozen_weights']:.1f}, measured peak RSS {r['t1v1']['peak_rss_gb']:.1f} GB).",
        "",
        f"Save, load, answer: `EventPredictor` rebuilt the 1-layer base from its seed and loaded the adapter in "
        f"{f['predict']['load_s']:.0f} s, answered one val sample in {f['predict']['answer_s']:.0f} s "
        f"(16 new tokens at most; random weights, so the answer is noise: {f['predict']['answer'][:60]!r}); "
        f"`football-events analyze` on one 8 s window took {f['analyze_wall_s']:.0f} s end to end "
        f"({f['analyze_events']} events).",
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace (or append) this bench's section of bench/RESULTS.md, leaving the others as they are."""
    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text()
    pat = re.compile(r"^## 7B at full width\n.*?(?=^## |\Z)", re.S | re.M)
    new = pat.sub(lambda _: text + "\n", old) if pat.search(old) else old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


if __name__ == "__main__":
    sys.exit(main())
