"""The GPU checks in one script (see the project's GPU-check notes): what only a lent GPU can measure, in < 8 minutes.

    python3 bench/gpu_check.py --prepare bench/gpu_data      # here, once: demo clips + splits to carry
    python3 bench/gpu_check.py --data bench/gpu_data         # on the GPU machine (JSON to stdout and $OUT)
    .venv/bin/python bench/gpu_check.py --dry-run            # CPU, tiny width, one step each (CI)

Checks, each with its figures under ``checks.<name>`` of one JSON object (``errors.<name>`` when one fails):

1. ``train``: Qwen2.5-VL at the published 7B sizes (``model.width_spec(28, 32)``: full-attention blocks
   [7, 15, 23, 31]) with seeded random bf16 weights, through the trainer's own ``train.run`` (the 7B preset on the
   a100-80gb profile: LoRA r 64 on the language model, gradient checkpointing, batch 2, 32 frames at 336x504,
   the real tokenizer and chat template) for ``--steps`` steps on the demo clips: peak allocated / reserved
   memory beside ``preflight.plan`` for the same settings, step time, samples/s, tokens/s. ZeRO-2 runs only
   where DeepSpeed is installed (it is not on the lent machine: recorded as skipped).
2. ``sanity`` (on the trained model): frozen weights all bf16 (no fp32 upcast), trainable parameters of the
   vision tower (0), host<->device copies inside one training step and its top CUDA ops (torch profiler).
3. ``inference``: the adapter on its base through ``EventPredictor``; greedy decode of one events answer for
   one 8 s window: tokens/s, s/window; from it the VLM-only cost of a 90-minute match (analyze's windows) and
   the cascade's at the demo's share of windows sent (``--cascade-share``, bench/RESULTS.md "Spotter").
4. ``spotter``: frames/s of the spotter network (RegNetY-800MF at 224x336 on a GPU), training and inference.

The lent machine has torch, transformers, peft and opencv but no Dagster, no DeepSpeed, no ffmpeg (and no
matplotlib listed): this script imports only the core modules it needs, decodes the carried clips with OpenCV in
place of the project's ffmpeg reader and skips the loss-curve PNG (``--dry-run`` blocks those packages too, so CI
proves the script runs without them). The base is allocated without Hugging Face's init and filled by ``model.seeded_init`` (a full random
init of 8 B parameters takes minutes on a host).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ABSENT_ON_DEVICE = ("dagster", "dagster_pipes", "deepspeed", "ffmpeg", "matplotlib")
SEVEN = "cosmos-reason1-7b"
PROFILE = "a100-80gb"
MATCH_S = 90 * 60
CASCADE_SHARE = 0.093  # bench/RESULTS.md, "Spotter": share of 8 s windows with a spot above the val threshold


# ---------------------------------------------------------------------------------------------------
# Video without ffmpeg


def install_opencv_video() -> None:
    """Decode with OpenCV in the project's video path (``video_inputs.probe``/``read_frames``).

    ``core.ingest.video`` imports the ffmpeg bindings at its top; where they are missing, an empty stand-in
    module lets it import, and the two functions the training and inference path call are replaced."""
    try:
        import ffmpeg  # noqa: F401
    except ImportError:
        sys.modules["ffmpeg"] = types.ModuleType("ffmpeg")
    from football_assets.core.training import video_inputs

    video_inputs.probe = cv2_probe
    video_inputs.read_frames = cv2_read_frames


def cv2_probe(path, *a, **k):
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 4.0
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    info = types.SimpleNamespace(fps=fps, nb_frames=n or None, duration=n / fps, width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                 height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    cap.release()
    return info


def cv2_read_frames(path, width=None, height=None):
    import cv2
    import numpy as np

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if width and height and (bgr.shape[1], bgr.shape[0]) != (width, height):
            bgr = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return np.stack(frames) if frames else np.zeros((0, height or 0, width or 0, 3), np.uint8)


# ---------------------------------------------------------------------------------------------------
# Data


def prepare(dest: Path) -> Path:
    """Render the 8 demo clips with the project's ingest (needs ffmpeg: run here) and write ``dest`` to carry:
    ``clips/*.mp4`` and ``splits/{train,val,test}.jsonl`` with video paths relative to ``dest``."""
    from football_assets.core.layout import DataLayout
    from tests.fixtures_training import make_demo_clips, write_splits

    with tempfile.TemporaryDirectory() as tmp:
        layout = DataLayout(Path(tmp))
        splits = write_splits(layout, make_demo_clips(layout), version="gpu-check")
        (dest / "clips").mkdir(parents=True, exist_ok=True)
        (dest / "splits").mkdir(exist_ok=True)
        for name in ("train", "val", "test"):
            rows = []
            for line in (splits / f"{name}.jsonl").read_text().splitlines():
                row = json.loads(line)
                clip = Path(row["video"])
                shutil.copy2(clip, dest / "clips" / clip.name)
                rows.append(json.dumps(relative(row, str(clip), f"clips/{clip.name}")))
            (dest / "splits" / f"{name}.jsonl").write_text("".join(r + "\n" for r in rows))
    return dest


def relative(row: dict, old: str, new: str) -> dict:
    """The sample with every occurrence of the video path ``old`` replaced by ``new``."""
    return json.loads(json.dumps(row).replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1]))


def localize(data: Path, work: Path) -> Path:
    """The carried splits with absolute video paths on this machine (a splits dir the trainer reads)."""
    out = work / "splits"
    out.mkdir(parents=True, exist_ok=True)
    for f in (data / "splits").glob("*.jsonl"):
        rows = []
        for line in f.read_text().splitlines():
            row = json.loads(line)
            rows.append(json.dumps(relative(row, row["video"], str((data / row["video"]).resolve()))))
        (out / f.name).write_text("".join(r + "\n" for r in rows))
    return out


# ---------------------------------------------------------------------------------------------------
# Checks


def peak_reset(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peaks(device: str) -> dict:
    import resource

    import torch

    out = {"host_peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    if device == "cuda":
        out.update(max_memory_allocated_gb=torch.cuda.max_memory_allocated() / 2**30,
                   max_memory_reserved_gb=torch.cuda.max_memory_reserved() / 2**30)
    return out


def model_spec(dry: bool):
    """The model the checks train: the whole 7B architecture, random (tiny width in a dry run)."""
    from football_assets.core.training import model as M

    spec = M.get_spec("tiny") if dry else M.width_spec(28, 32)
    M.MODELS.setdefault(spec.name, spec)  # the trainer and the predictor look models up by name
    return spec


def run_values(spec, splits: Path, out: Path, steps: int, frames: int | None) -> dict:
    """The 7B preset on the a100-80gb profile, for ``spec``; no ZeRO (DeepSpeed is absent there), no checkpoints."""
    from football_assets.core.training.train_args import resolve

    values, _ = resolve(None, SEVEN, PROFILE)
    values.update(model=spec.name, splits_dir=str(splits), output_dir=str(out), splits_version="gpu-check",
                  max_steps=steps, gradient_accumulation_steps=1, save_strategy="no", logging_steps=1, deepspeed=None,
                  lr_scheduler_type="constant", warmup_steps=0.0)
    if frames:
        values["max_frames"] = frames
    return values


def check_train(ctx: dict) -> dict:
    import torch

    from football_assets.core.training import preflight, train
    from football_assets.core.training.train_args import TrainConfig

    spec, device = ctx["spec"], ctx["device"]
    values = run_values(spec, ctx["splits"], ctx["work"] / "train", ctx["steps"], ctx["frames"])
    captured: dict = {}
    original = train.prepare_model

    def keep(*a, **k):  # the trained model, for the sanity check
        captured["model"], captured["processor"], _ = result = original(*a, **k)
        return result

    train.prepare_model = keep
    peak_reset(device)
    try:
        t0 = time.time()
        metrics = train.run(TrainConfig.from_dict(values))
        wall = time.time() - t0
    finally:
        train.prepare_model = original
    ctx.update(model=captured.get("model"), processor=captured.get("processor"), values=values,
               adapter=Path(values["output_dir"]) / "adapter")
    plan = preflight.plan({**values, "model": SEVEN if not ctx["dry"] else spec.name, "deepspeed": None}, PROFILE,
                          budget_gb=preflight_budget())
    steps = metrics["steps"]
    out = {"model": spec.name, "params_total": metrics["params_total"], "params_trainable": metrics["params_trainable"],
           "steps": steps, "batch": values["per_device_train_batch_size"], "frames": values["max_frames"],
           "train_runtime_s": metrics["train_runtime_s"], "step_s": metrics["train_runtime_s"] / max(1, steps),
           "samples_per_s": metrics["samples_per_s"], "tokens_per_s": metrics["tokens_per_s"],
           "tokens_per_sample": metrics["tokens_seen"] / max(1, steps * values["per_device_train_batch_size"]),
           "first_loss": metrics["first_loss"], "final_loss": metrics["final_loss"], "wall_s": wall,
           "plan_total_gb": plan.total_gb, "plan_memory_gb": plan.memory_gb, "plan_tokens_per_sample": plan.tokens["per_sample"],
           **peaks(device)}
    try:
        import deepspeed  # noqa: F401

        out["zero2"] = "available; not run by this script (the trainer's DeepSpeed launcher run is the follow-up)"
    except ImportError:
        out["zero2"] = "skipped: DeepSpeed is not installed on this machine"
    del torch
    return out


def preflight_budget():
    from football_assets.core.training.presets import PROFILE_MEMORY_GB

    return PROFILE_MEMORY_GB[PROFILE]


def check_sanity(ctx: dict) -> dict:
    """Frozen dtypes, vision trainable count, and one profiled training step's copies and top ops."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from football_assets.core.training.data import Collator, SFTDataset, load_samples
    from football_assets.core.training.train_args import TrainConfig
    from football_assets.core.training.video_inputs import VideoCache

    model, processor, device = ctx["model"], ctx["processor"], ctx["device"]
    if model is None:
        raise RuntimeError("no trained model (the train check failed)")
    frozen = {}
    for n, p in model.named_parameters():
        if not p.requires_grad:
            frozen[str(p.dtype)] = frozen.get(str(p.dtype), 0) + p.numel()
    trainable = {"vision": 0, "language_model_lora": 0, "other": 0}
    for n, p in model.named_parameters():
        if p.requires_grad:
            trainable["vision" if ".visual." in n else "language_model_lora" if "lora_" in n else "other"] += p.numel()
    cfg = TrainConfig.from_dict(ctx["values"])
    cache = VideoCache(processor, cfg.budget())
    ds = SFTDataset(load_samples(cfg)[:2], processor, cache)
    batch = Collator(processor.tokenizer.pad_token_id)([ds[0], ds[1]])
    batch = {k: v.to(device) for k, v in batch.items()}
    batch["pixel_values_videos"] = batch["pixel_values_videos"].to(model.dtype)
    from football_assets.core.training.loss import answer_loss, answer_positions

    model.train()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])

    def step():
        inputs = {k: v for k, v in batch.items() if k != "labels"}  # the loss is the trainer's answer_loss
        out = model(**inputs, logits_to_keep=answer_positions(batch["labels"]))
        answer_loss(out, batch["labels"]).backward()
        model.zero_grad(set_to_none=True)

    step()  # warm
    with profile(activities=acts) as prof:
        step()
        if device == "cuda":
            torch.cuda.synchronize()
    events = prof.key_averages()
    copies = {"HtoD": 0, "DtoH": 0}
    for e in events:
        for kind in copies:
            if f"Memcpy {kind}" in e.key:
                copies[kind] += e.count
    key = "device_time_total" if device == "cuda" else "cpu_time_total"
    top = sorted(events, key=lambda e: -getattr(e, key, 0))[:10]
    return {"frozen_params_by_dtype": frozen, "frozen_all_bf16": set(frozen) == {"torch.bfloat16"},
            "trainable": trainable, "vision_trainable": trainable["vision"], "memcpy_in_step": copies,
            "top_ops": [{"op": e.key, "ms": getattr(e, key, 0) / 1e3, "count": e.count} for e in top]}


def check_inference(ctx: dict) -> dict:
    import torch

    from football_assets.core.inference.analyze import DEFAULT_OVERLAP_S
    from football_assets.core.inference.predictor import EventPredictor
    from football_assets.core.training.model import get_spec

    ctx["model"] = ctx["processor"] = None  # the trained copy goes before the predictor loads its own
    gc.collect()
    device = ctx["device"]
    peak_reset(device)
    t0 = time.time()
    pred = EventPredictor(ctx["spec"].name, ctx["adapter"], device=device, dtype="bfloat16")
    load_s = time.time() - t0
    val = next(json.loads(s) for s in (ctx["splits"] / "val.jsonl").read_text().splitlines())
    pred.generate_scored(val["video"], 4.0, max_new_tokens=4)  # warm: decode the clip, first kernels
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.time()
    answer = pred.generate_scored(val["video"], 4.0, max_new_tokens=ctx["new_tokens"])
    if device == "cuda":
        torch.cuda.synchronize()
    window_s = time.time() - t0
    spec = get_spec(ctx["spec"].name)
    clip_s = spec.max_frames / 4.0
    stride = clip_s - DEFAULT_OVERLAP_S
    windows = math.ceil((MATCH_S - clip_s) / stride) + 1
    n = len(answer.token_ids)
    return {"load_s": load_s, "new_tokens": n, "prompt_tokens": answer.prompt_length, "s_per_window": window_s,
            "tokens_per_s": n / window_s if window_s else None, "window_s": clip_s, "overlap_s": DEFAULT_OVERLAP_S,
            "match_windows": windows, "match_vlm_only_s": windows * window_s, "cascade_share": ctx["cascade_share"],
            "match_cascade_vlm_s": windows * ctx["cascade_share"] * window_s, **peaks(device)}


def check_spotter(ctx: dict) -> dict:
    import torch

    from football_assets.core.events import EVENT_CLASSES
    from football_assets.core.spotter.model import NetConfig, SpotterNet

    device, dry = ctx["device"], ctx["dry"]
    cfg = NetConfig() if dry else NetConfig(backbone="regnety_800mf", height=224, width=336)
    note = ""
    try:
        net = SpotterNet(cfg).to(device)
    except ImportError as exc:  # torchvision absent: the small CNN at the GPU resolution instead
        cfg = NetConfig(height=224, width=336)
        net, note = SpotterNet(cfg).to(device), f"regnety_800mf unavailable ({exc}); small_cnn at 224x336"
    b, t = (1, 8) if dry else (4, 64)
    torch.manual_seed(0)
    frames = torch.randint(0, 256, (b, t, cfg.height, cfg.width, 3), dtype=torch.uint8, device=device)
    n = len(EVENT_CLASSES)
    spot = torch.zeros(b, t, n + 1, device=device)
    spot[..., -1] = 1
    member = torch.zeros(b, t, n, device=device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    iters = 1 if dry else 10

    def timed(fn) -> float:
        fn()  # warm
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.time()
        for _ in range(iters):
            fn()
        if device == "cuda":
            torch.cuda.synchronize()
        return (time.time() - t0) / iters

    def train_step():
        net.train()
        opt.zero_grad(set_to_none=True)
        net(frames, spot, member)["loss"].backward()
        opt.step()

    train_s = timed(train_step)
    net.eval()
    infer_s = timed(lambda: net.scores(frames))
    return {"backbone": cfg.backbone, "height": cfg.height, "width": cfg.width, "batch_frames": b * t, "note": note,
            "train_frames_per_s": b * t / train_s, "inference_frames_per_s": b * t / infer_s}


CHECKS = {"train": check_train, "sanity": check_sanity, "inference": check_inference, "spotter": check_spotter}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="CPU, tiny width, one step each, without Dagster/DeepSpeed/ffmpeg")
    ap.add_argument("--prepare", metavar="DIR", help="write the demo clips and splits to carry to DIR, and stop")
    ap.add_argument("--data", metavar="DIR", help="carried data (from --prepare); default: prepared into a temp dir")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--frames", type=int, default=None, help="frames per clip (default: the 7B preset's 32)")
    ap.add_argument("--new-tokens", type=int, default=256, help="max new tokens of the timed answer")
    ap.add_argument("--cascade-share", type=float, default=CASCADE_SHARE)
    ap.add_argument("--only", nargs="*", choices=list(CHECKS), help="run these checks only")
    a = ap.parse_args(argv)
    if a.prepare:
        print(prepare(Path(a.prepare)))
        return 0
    import torch

    device = "cpu" if a.dry_run else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here (use --dry-run on a CPU)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    data = Path(a.data) if a.data else prepare(work / "data")  # here, with ffmpeg: before the dry run blocks it
    if a.dry_run:
        for name in ABSENT_ON_DEVICE:  # unimportable, and "not installed" to importlib.util.find_spec
            sys.modules[name] = None
    install_opencv_video()
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the loss-curve PNG is all the trainer wants it for
        from football_assets.core.training import train

        train.plot_loss = lambda *a, **k: None
    import transformers

    result: dict = {"dry_run": a.dry_run, "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
                    "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
                    "checks": {}, "errors": {}, "seconds": {}}
    ctx = {"dry": a.dry_run, "device": device, "work": work, "splits": localize(data, work), "spec": model_spec(a.dry_run),
           "steps": 1 if a.dry_run else a.steps, "frames": a.frames or (4 if a.dry_run else None),
           "new_tokens": 8 if a.dry_run else a.new_tokens, "cascade_share": a.cascade_share, "model": None, "processor": None}
    try:
        for name, fn in CHECKS.items():
            if a.only and name not in a.only:
                continue
            t0 = time.time()
            try:
                result["checks"][name] = fn(ctx)
            except Exception as exc:  # one failing check must not hide the others' figures
                result["errors"][name] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-2000:]}"
            result["seconds"][name] = round(time.time() - t0, 1)
    finally:  # checkpoints and adapters: ~200 MB even at tiny width
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(result, indent=1, default=str)
    print(text)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check.json").write_text(text)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
