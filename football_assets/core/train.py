"""LoRA fine-tuning with the Hugging Face Trainer: ``python -m football_assets.core.train --config cfg.json``.

The same entry point runs plainly, under ``torchrun --nproc_per_node N`` and under ``deepspeed`` (ZeRO-2
config in ``training_configs/``). Rank 0 alone writes the adapter, the metrics and the loss curve, and
reports them to Dagster through Pipes when launched by ``PipesSubprocessClient`` (the light
``dagster_pipes`` package is imported only then). Resumes from the last checkpoint in
``<output_dir>/checkpoints`` when one exists, so a killed run continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .model import MODELS, get_spec

CONFIG_DIR = Path(__file__).parent / "training_configs"


class TrainConfigError(ValueError):
    """A training configuration that cannot work; the message names the field and the cause."""


@dataclass
class TrainConfig:
    model: str = "tiny"
    model_path: str | None = None  # local weights directory (e.g. Cosmos-Reason1-7B)
    splits_dir: str = ""  # one splits version directory with train.jsonl (and val.jsonl)
    output_dir: str = ""  # checkpoints, metrics, loss curve, video cache
    adapter_dir: str = ""  # final adapter (default <output_dir>/adapter); replaced atomically
    splits_version: str = ""
    # LoRA
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | list[str] | None = None  # None: language-model linear layers (regex)
    modules_to_save: list[str] | None = None  # None: the model spec's default
    # optimisation
    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float = 2e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"
    batch_size: int = 1
    grad_accum: int = 1
    seed: int = 0
    bf16: bool = False
    gradient_checkpointing: bool = False
    deepspeed: str | None = None  # path to a DeepSpeed json (e.g. training_configs/ds_zero2.json)
    logging_steps: int = 1
    save_steps: int = 50
    save_total_limit: int = 2
    tasks: list[str] = field(default_factory=lambda: ["events", "grounding"])
    max_train_samples: int | None = None
    # video budget (None: the model spec's default)
    max_frames: int | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    dtype: str = "float32"
    attn_implementation: str | None = None
    #: tiny only: steps of demo vision pretraining on the train split before LoRA (see demo_pretrain.py)
    demo_pretrain_steps: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise TrainConfigError(f"unknown training config field(s): {', '.join(unknown)}")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "TrainConfig":
        p = Path(path)
        if not p.exists():
            raise TrainConfigError(f"training config {p} does not exist")
        return cls.from_dict(json.loads(p.read_text()))

    def validate(self) -> None:
        get_spec(self.model)  # UnknownModelError naming the known ones
        if self.lora_r < 1:
            raise TrainConfigError(f"lora_r must be >= 1 (a rank-{self.lora_r} LoRA trains nothing)")
        if self.lora_alpha <= 0:
            raise TrainConfigError(f"lora_alpha must be > 0, got {self.lora_alpha}")
        if not 0 <= self.lora_dropout < 1:
            raise TrainConfigError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if self.batch_size < 1 or self.grad_accum < 1:
            raise TrainConfigError(f"batch_size and grad_accum must be >= 1, got {self.batch_size}, {self.grad_accum}")
        if not self.output_dir:
            raise TrainConfigError("output_dir is required")
        if not self.splits_dir:
            raise TrainConfigError("splits_dir is required (a splits version directory with train.jsonl)")
        train = Path(self.splits_dir) / "train.jsonl"
        if not train.exists():
            raise TrainConfigError(f"splits_dir {self.splits_dir}: {train.name} missing (materialize sft_splits first)")
        if self.deepspeed and not Path(self.deepspeed).exists():
            raise TrainConfigError(f"deepspeed config {self.deepspeed} does not exist")
        bad = sorted(set(self.tasks) - {"events", "grounding"})
        if bad:
            raise TrainConfigError(f"unknown task(s) {bad}; expected 'events' and/or 'grounding'")

    @property
    def adapter_path(self) -> Path:
        return Path(self.adapter_dir) if self.adapter_dir else Path(self.output_dir) / "adapter"

    def budget(self):
        from .video_inputs import VideoBudget

        spec = get_spec(self.model)
        return VideoBudget(max_frames=self.max_frames or spec.max_frames, min_pixels=self.min_pixels or spec.min_pixels,
                           max_pixels=self.max_pixels or spec.max_pixels)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


# --------------------------------------------------------------------------------------------
# Data


class SFTDataset:
    """Chat samples -> model inputs; labels only on the assistant answer (and its end token)."""

    def __init__(self, samples: list[dict], processor, cache):
        self.samples, self.processor, self.cache = samples, processor, cache
        self.tok = processor.tokenizer

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        import torch

        from .video_inputs import build_prompt_inputs

        s = self.samples[i]
        video = self.cache.get(s["video"], s.get("fps"))
        prompt = build_prompt_inputs(self.processor, s["messages"], video)
        answer = next(m["content"] for m in s["messages"] if m["role"] == "assistant")
        ans_ids = torch.tensor(self.tok(answer + "<|im_end|>\n", add_special_tokens=False)["input_ids"])
        ids = torch.cat([prompt["input_ids"], ans_ids])
        labels = torch.cat([torch.full_like(prompt["input_ids"], -100), ans_ids])
        return {"input_ids": ids, "labels": labels, "mm_token_type_ids": torch.cat([prompt["mm_token_type_ids"], torch.zeros_like(ans_ids)]),
                "pixel_values_videos": video["pixel_values_videos"], "video_grid_thw": video["video_grid_thw"],
                "second_per_grid_ts": video["second_per_grid_ts"]}


class Collator:
    """Right-pads a batch and concatenates the videos' patches (Qwen2.5-VL packs them flat)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch: list[dict]) -> dict:
        import torch

        n = max(len(b["input_ids"]) for b in batch)

        def pad(key, value):
            return torch.stack([torch.nn.functional.pad(b[key], (0, n - len(b[key])), value=value) for b in batch])

        out = {"input_ids": pad("input_ids", self.pad_id), "labels": pad("labels", -100),
               "mm_token_type_ids": pad("mm_token_type_ids", 0),
               "attention_mask": torch.stack([torch.nn.functional.pad(torch.ones(len(b["input_ids"]), dtype=torch.long), (0, n - len(b["input_ids"]))) for b in batch]),
               "pixel_values_videos": torch.cat([b["pixel_values_videos"] for b in batch]),
               "video_grid_thw": torch.cat([b["video_grid_thw"] for b in batch]),
               "second_per_grid_ts": torch.tensor([t for b in batch for t in b["second_per_grid_ts"]])}
        return out


def load_samples(cfg: TrainConfig, split: str = "train") -> list[dict]:
    path = Path(cfg.splits_dir) / f"{split}.jsonl"
    if not path.exists():
        raise TrainConfigError(f"splits_dir {cfg.splits_dir}: {path.name} missing")
    samples = [s for s in read_jsonl(path) if s.get("task", "events") in cfg.tasks]
    if cfg.max_train_samples:
        samples = samples[: cfg.max_train_samples]
    if not samples:
        raise TrainConfigError(f"{path}: no samples of task(s) {cfg.tasks}")
    for s in samples:
        if not Path(s["video"]).exists():
            raise TrainConfigError(f"sample {s.get('id')}: video {s['video']} does not exist")
    return samples


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

    from .model import describe, load_base, lora_config

    spec = get_spec(cfg.model)
    dtype = "bfloat16" if cfg.bf16 else cfg.dtype
    model, processor = load_base(cfg.model, load_from or cfg.model_path, dtype=dtype, attn_implementation=cfg.attn_implementation)
    if before_peft is not None:
        before_peft(model, processor)
    if base_copy is not None and not load_from:
        from .model import save_base

        save_base(model, processor, base_copy)
    model.config.use_cache = False
    for p in model.parameters():
        p.requires_grad_(False)  # vision tower (and everything else) frozen; peft adds the trainable parts
    extras = spec.modules_to_save if cfg.modules_to_save is None else cfg.modules_to_save
    peft_model = get_peft_model(model, lora_config(cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.target_modules, extras))
    hit_vision = [n for n, m in peft_model.named_modules() if ".visual." in n and hasattr(m, "lora_A")]
    if hit_vision:
        raise TrainConfigError(f"LoRA target_modules hit the vision tower ({hit_vision[0]} ...); name language-model paths")
    if cfg.gradient_checkpointing:
        peft_model.enable_input_require_grads()
    del torch
    return peft_model, processor, describe(peft_model)


# --------------------------------------------------------------------------------------------
# Metrics


def peak_memory_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_callback(history: list[dict]):
    from transformers import TrainerCallback

    class LossHistory(TrainerCallback):
        """Keeps the logged loss per step (rank 0 writes it out)."""

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                history.append({"step": state.global_step, "loss": float(logs["loss"]), "epoch": float(logs.get("epoch", 0)),
                                "tokens_seen": int(state.num_input_tokens_seen)})

    return LossHistory()


def plot_loss(history: list[dict], dest: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, losses = [h["step"] for h in history], [h["loss"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, losses, marker=".", markersize=2, linewidth=0.5, alpha=0.4, label="per step")
    k = max(1, len(losses) // 50)  # a moving average over ~2% of the run, so the trend reads at 1,000+ steps
    if k > 1:
        smooth = [sum(losses[max(0, i - k + 1):i + 1]) / len(losses[max(0, i - k + 1):i + 1]) for i in range(len(losses))]
        ax.plot(steps, smooth, linewidth=1.8, label=f"mean of last {k}")
        ax.legend()
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_title("LoRA training loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(dest, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# Run


def training_arguments(cfg: TrainConfig, on_gpu: bool):
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(Path(cfg.output_dir) / "checkpoints"),
        per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=cfg.grad_accum,
        num_train_epochs=cfg.epochs, max_steps=cfg.max_steps, learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_ratio, lr_scheduler_type=cfg.lr_scheduler,
        logging_steps=cfg.logging_steps, save_strategy="steps", save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit, seed=cfg.seed, data_seed=cfg.seed,
        bf16=cfg.bf16 and on_gpu, gradient_checkpointing=cfg.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if cfg.gradient_checkpointing else None,
        deepspeed=cfg.deepspeed, report_to=[], remove_unused_columns=False, dataloader_num_workers=0,
        use_cpu=not on_gpu, ddp_backend=None if on_gpu or int(os.environ.get("WORLD_SIZE", "1")) == 1 else "gloo", label_names=["labels"],
        include_num_input_tokens_seen="non_padding", disable_tqdm=True, save_only_model=False,
    )


def run(cfg: TrainConfig, report=None) -> dict:
    """Train; on rank 0 write the adapter and ``metrics.json`` and return the metrics."""
    import torch
    from transformers import Trainer, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from .fsutil import atomic_dir, write_json
    from .video_inputs import VideoCache

    set_seed(cfg.seed)
    on_gpu = torch.cuda.is_available()
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples = load_samples(cfg)
    bundle = get_spec(cfg.model).tiny is not None and not cfg.model_path
    base_copy = out / "base" if bundle else None
    saved = base_copy is not None and (base_copy / "config.json").exists() and (base_copy / "processor_config.json").exists()
    pre: dict = {}

    def before_peft(model, processor):
        pre["cache"] = VideoCache(processor, cfg.budget(), out / "video_cache")
        if bundle and cfg.demo_pretrain_steps > 0 and not saved:
            from .demo_pretrain import pretrain_vision

            pre["pretrain"] = pretrain_vision(model, samples, pre["cache"], cfg.demo_pretrain_steps, seed=cfg.seed,
                                                log=report)

    model, processor, params = prepare_model(cfg, base_copy if rank() == 0 else None, before_peft,
                                             load_from=str(base_copy) if saved else None)
    cache = pre["cache"]
    dataset = SFTDataset(samples, processor, cache)
    history: list[dict] = []
    args = training_arguments(cfg, on_gpu)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=Collator(processor.tokenizer.pad_token_id),
                      callbacks=[make_callback(history)])
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
            "world_size": int(os.environ.get("WORLD_SIZE", "1")), "device": "cuda" if on_gpu else "cpu",
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
            write_json(tmp / "training_args.json", {"config": asdict(cfg), "trainer": args.to_dict()})
            write_json(tmp / "train_meta.json", {"base_model": cfg.model, "base_path": cfg.model_path,
                                                 "splits_version": cfg.splits_version,
                                                 "model_version": model_version(cfg), "metrics": {k: v for k, v in info.items() if k != "loss_curve"}})
        write_json(out / "metrics.json", info)
        return info
    return {}


def model_version(cfg: TrainConfig) -> str:
    import hashlib

    raw = json.dumps({k: v for k, v in asdict(cfg).items() if k not in ("output_dir", "adapter_dir")}, sort_keys=True)
    return f"{cfg.model}-{hashlib.sha256(raw.encode()).hexdigest()[:12]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="training config JSON (TrainConfig fields)")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=None, help="set by the deepspeed launcher")
    args = parser.parse_args(argv)
    cfg = TrainConfig.from_file(args.config)
    if os.environ.get("DAGSTER_PIPES_CONTEXT") and rank() == 0:
        from dagster_pipes import open_dagster_pipes

        with open_dagster_pipes() as pipes:
            info = run(cfg, report=pipes.log.info)
            pipes.report_asset_materialization(metadata=pipes_metadata(info), data_version=model_version(cfg))
        return 0
    run(cfg)
    return 0


def pipes_metadata(info: dict) -> dict:
    """Materialization metadata: numbers as floats/ints, the loss curve as JSON."""
    md = {}
    for k, v in info.items():
        if k == "loss_curve":
            md[k] = {"raw_value": v, "type": "json"}
        elif isinstance(v, bool) or v is None:
            md[k] = {"raw_value": str(v), "type": "text"}
        elif isinstance(v, (int, float)):
            md[k] = {"raw_value": v, "type": "float" if isinstance(v, float) else "int"}
        else:
            md[k] = {"raw_value": str(v), "type": "text"}
    return md


if __name__ == "__main__":
    sys.exit(main())
