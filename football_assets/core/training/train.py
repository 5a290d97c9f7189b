"""LoRA fine-tuning with the Hugging Face Trainer: ``python -m football_assets.core.training.train --config cfg.json``.

The same entry point runs plainly, under ``torchrun --nproc_per_node N`` and under ``deepspeed`` (ZeRO-2
config in ``configs/``). Rank 0 alone writes the adapter, the metrics and the loss curve, and
reports them to Dagster through Pipes when launched by ``PipesSubprocessClient`` (the light
``dagster_pipes`` package is imported only then). Resumes from the last checkpoint in
``<output_dir>/checkpoints`` when one exists, so a killed run continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from football_assets.core.training.data import Collator, SFTDataset, load_samples
from football_assets.core.training.extensions import clear_stale_build_locks
from football_assets.core.training.model import get_spec
from football_assets.core.training.presets import CONFIG_DIR  # noqa: F401  (re-exported: the DeepSpeed configs folder)
from football_assets.core.training.progress import (
    console_to_log,
    make_callback,
    peak_memory_mb,
    plot_loss,
    quiet_console,
    run_under_pipes,
)
from football_assets.core.training.train_args import TrainConfig, TrainConfigError  # noqa: F401  (the trainer's config, re-exported)
from resources import environment


def rank() -> int:
    return environment.rank()


# --------------------------------------------------------------------------------------------
# Model


def prepare_model(cfg: TrainConfig, base_copy: Path | None = None, before_peft=None, load_from: str | None = None):
    """Base + peft LoRA (language model linear layers); returns (peft model, processor, counts).

    ``base_copy``: save the base there first (the tiny base is bundled with its adapter);
    ``before_peft(model, processor)`` runs on the base before that (demo vision pretraining);
    ``load_from``: load the base from this directory instead (a resumed run's saved base).
    """
    import torch
    from peft import get_peft_model

    from football_assets.core.training.model import describe, load_base, lora_config, quiet_peft

    model, processor = load_base(cfg.model, load_from or cfg.model_path, dtype=cfg.dtype, attn_implementation=cfg.attn_implementation)
    if before_peft is not None:
        before_peft(model, processor)
    if base_copy is not None and not load_from:
        from football_assets.core.training.model import save_base

        save_base(model, processor, base_copy)
    model.config.use_cache = False
    for p in model.parameters():
        p.requires_grad_(False)  # vision tower (and everything else) frozen; peft adds the trainable parts
    extras = cfg.modules_to_save or []
    keep_vision_out_of_autograd(model)
    with quiet_peft():
        peft_model = get_peft_model(model, lora_config(cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.target_modules,
                                                       extras))
    hit_vision = [n for n, m in peft_model.named_modules() if ".visual." in n and hasattr(m, "lora_A")]
    if hit_vision:
        raise TrainConfigError(f"LoRA target_modules hit the vision tower ({hit_vision[0]} ...); name language-model paths")
    del torch
    return peft_model, processor, describe(peft_model)


# --------------------------------------------------------------------------------------------
# Run


def keep_vision_out_of_autograd(model) -> None:
    """Stop transformers from making the frozen vision tower's input require grad.

    With gradient checkpointing, transformers 5 hooks the input embeddings of every sub-model so that
    gradients reach the adapters; for Qwen2.5-VL that includes the vision tower's ``patch_embed``, which puts
    the whole frozen ViT into the backward graph (its activations kept, its blocks recomputed, every step).
    Hiding the vision tower's input embeddings leaves only the language model's hooked.
    """
    visual = model.model.visual
    visual.get_input_embeddings = lambda: None


def training_arguments(cfg: TrainConfig, on_gpu: bool):
    """The real ``transformers.TrainingArguments`` of this config (through ``HfArgumentParser``)."""
    return cfg.parse(on_gpu)[-1]


def run(cfg: TrainConfig, report=None) -> dict:
    """Train; on rank 0 write the adapter and ``metrics.json`` and return the metrics."""
    import torch
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from football_assets.core.fsutil import atomic_dir, write_json
    from football_assets.core.training.loss import AnswerLossTrainer
    from football_assets.core.training.video_inputs import VideoCache

    set_seed(cfg.seed)
    on_gpu = torch.cuda.is_available()
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples = load_samples(cfg)
    spec = get_spec(cfg.model)
    bundle = spec.tiny is not None and spec.bundle_base and not cfg.model_path
    base_copy = out / "base" if bundle else None
    saved = base_copy is not None and (base_copy / "config.json").exists() and (base_copy / "processor_config.json").exists()
    pre: dict = {}

    def before_peft(model, processor):
        pre["cache"] = VideoCache(processor, cfg.budget(), out / "video_cache", max_bytes=cfg.video_cache_mb * 2**20)
        if bundle and cfg.demo_pretrain_steps > 0 and not saved:
            from football_assets.core.demo.pretrain import pretrain_vision

            pre["pretrain"] = pretrain_vision(model, samples, pre["cache"], cfg.demo_pretrain_steps, seed=cfg.seed,
                                                log=report)

    model, processor, params = prepare_model(cfg, base_copy if rank() == 0 else None, before_peft,
                                             load_from=str(base_copy) if saved else None)
    cache = pre["cache"]
    dataset = SFTDataset(samples, processor, cache)
    history: list[dict] = []
    args = training_arguments(cfg, on_gpu)
    trainer = AnswerLossTrainer(model=model, args=args, train_dataset=dataset,
                                data_collator=Collator(processor.tokenizer.pad_token_id),
                                callbacks=[make_callback(history, report, out / "train_log.jsonl")])
    quiet_console(trainer)
    last = get_last_checkpoint(args.output_dir) if Path(args.output_dir).is_dir() else None
    if report:
        report(f"training {cfg.model} on {len(samples)} samples" + (f", resuming from {last}" if last else ""))
    t0 = time.time()
    result = trainer.train(resume_from_checkpoint=last)
    wall = time.time() - t0
    metrics = dict(result.metrics)
    if trainer.is_world_process_zero():
        state = trainer.state
        tokens = int(state.num_input_tokens_seen)
        info = {
            "model": cfg.model, "splits_version": cfg.splits_version, "resumed_from": last,
            "steps": int(state.global_step), "epochs": float(state.epoch or 0), "train_samples": len(samples),
            "final_loss": history[-1]["loss"] if history else None,
            "first_loss": history[0]["loss"] if history else None,
            "train_loss": metrics.get("train_loss"), "train_runtime_s": metrics.get("train_runtime", wall),
            "samples_per_s": metrics.get("train_samples_per_second"),
            "tokens_seen": tokens, "tokens_per_s": tokens / wall if wall > 0 else None,
            "peak_memory_mb": peak_memory_mb(), "video_decodes": cache.decodes,
            "world_size": environment.world_size(), "device": "cuda" if on_gpu else "cpu",
            "deepspeed": cfg.deepspeed, "engine": type(trainer.model_wrapped).__name__, **params,
            "demo_pretrain_loss": [pre["pretrain"][0], pre["pretrain"][-1]] if pre.get("pretrain") else None,
        }
        full_history = list(state.log_history)
        losses = [{"step": h["step"], "loss": h["loss"]} for h in full_history if "loss" in h]
        info["loss_curve"] = losses
        plot_loss(losses or history, out / "loss_curve.png")
        with atomic_dir(cfg.adapter_path) as tmp:
            trainer.model.save_pretrained(tmp)
            processor.save_pretrained(tmp)
            if base_copy is not None:
                shutil.copytree(base_copy, tmp / "base")
            write_json(tmp / "training_args.json", {"config": cfg.to_dict(), "trainer": args.to_dict()})
            write_json(tmp / "train_meta.json", {"base_model": cfg.model, "base_path": cfg.model_path,
                                                 "splits_version": cfg.splits_version, "video_budget": asdict(cfg.budget()),
                                                 "model_version": model_version(cfg), "metrics": {k: v for k, v in info.items() if k != "loss_curve"}})
        write_json(out / "metrics.json", info)
        return info
    return {}


def model_version(cfg: TrainConfig) -> str:
    """The adapter's version: its training settings and the base model's spec (a locally built base changes with the
    code's architecture, which no training setting names; without it a new tiny base would reuse an old run)."""
    import hashlib

    settings = {k: v for k, v in cfg.to_dict().items() if k not in ("output_dir", "adapter_dir")}
    raw = json.dumps({**settings, "base_spec": get_spec(cfg.model).fingerprint()}, sort_keys=True)
    return f"{cfg.model}-{hashlib.sha256(raw.encode()).hexdigest()[:12]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="training config JSON (TrainConfig fields)")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=None, help="set by the deepspeed launcher")
    args = parser.parse_args(argv)
    console_to_log(args.config)
    cfg = TrainConfig.from_file(args.config)
    if cfg.deepspeed:
        for lock in clear_stale_build_locks():
            print(f"removed a stale extension build lock: {lock}", file=sys.stderr)
        environment.single_process_group()
    run_under_pipes(run, cfg, model_version(cfg), rank())
    return 0


if __name__ == "__main__":
    sys.exit(main())
