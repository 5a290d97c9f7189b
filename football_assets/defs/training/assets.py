"""Training group: the LoRA adapter, trained out of process through Dagster Pipes.

The asset picks the deployment's model, resolves its settings (run config > GPU profile > model preset >
defaults, ``core/training/presets.py``), runs the preflight (``core/training/preflight.py``: refuses a run that cannot fit or
cannot be served, in seconds), writes the training config JSON and launches ``football_assets.core.training.train``
with the GPU resource's launcher (python / torchrun / deepspeed) through ``PipesSubprocessClient``; rank 0
reports the metrics. The metadata shows every setting with its source, and the preflight plan.
It sits in the ``gpu`` pool (one at a time, see dagster.yaml) and carries dagster-k8s GPU requests.
Skips training when the splits version and training config are unchanged and the adapter exists.
"""

import json
from pathlib import Path
from typing import Optional

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    Config,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from football_assets.core.dataset import store
from football_assets.core.fsutil import read_json, write_json
from football_assets.core.layout import DataLayout
from football_assets.core.training import architectures, preflight, presets
from football_assets.core.training.launch import describe as describe_launch
from football_assets.core.training.launch import launch_command
from football_assets.core.training.train import TrainConfig, model_version
from football_assets.core.training.train_args import resolve
from football_assets.defs.placement import GPU_POOL, GPU_TRAINING_TAGS
from football_assets.defs.training.pipes import run_trainer
from resources import DataDirResource
from resources.gpu import GpuResource


class LoraAdapterConfig(Config):
    """Run-config overrides. Unset (None) fields come from the GPU profile, then the model's preset, then the
    defaults (``football_assets/core/training/presets.py``); the values used are in the materialization's metadata.
    ``model`` unset: the deployment's (``FOOTBALL_MODEL``, else the model of ``COSMOS_REASON1_PATH``, else tiny).
    Field names are the training config's (``TrainingArguments`` / ``core/training/train_args.py``)."""

    model: Optional[str] = None
    num_train_epochs: Optional[float] = None
    max_steps: Optional[int] = None
    learning_rate: Optional[float] = None
    warmup_steps: Optional[float] = None  # < 1: a fraction of the steps
    lora_r: Optional[int] = None
    lora_alpha: Optional[int] = None
    lora_dropout: Optional[float] = None
    modules_to_save: Optional[list[str]] = None
    per_device_train_batch_size: Optional[int] = None
    gradient_accumulation_steps: Optional[int] = None
    seed: Optional[int] = None
    save_steps: Optional[int] = None
    max_frames: Optional[int] = None
    max_pixels: Optional[int] = None
    min_pixels: Optional[int] = None
    timestamps: Optional[bool] = None  # each frame's time drawn on it (on in the cosmos-reason1-7b preset)
    video_cache_mb: Optional[int] = None
    demo_pretrain_steps: Optional[int] = None  # tiny only: brief vision pretraining on the train split (demo base)
    force: bool = False  # retrain even if nothing changed



def resolve_settings(config: LoraAdapterConfig, gpu: GpuResource) -> tuple[dict, dict]:
    """``(values, sources)``: the model the deployment selects and its settings, with where each came from."""
    model = presets.select_model(config.model, gpu.model or None, gpu.model_path or None)
    values, sources = resolve({k: v for k, v in config.model_dump().items() if k not in ("force", "model")},
                              model, gpu.profile)
    if config.model:
        sources["model"] = "run config"
    if gpu.model_path:
        values["model_path"], sources["model_path"] = gpu.model_path, "deployment"
    return values, sources


def build_train_config(config: LoraAdapterConfig, gpu: GpuResource, layout, splits) -> tuple[TrainConfig, dict]:
    """``(the one final TrainConfig, where each setting came from)``: settings resolved once, plus the run's paths."""
    values, sources = resolve_settings(config, gpu)
    values.update(splits_dir=str(splits.path), splits_version=splits.version, adapter_dir=str(layout.adapter_dir),
                  output_dir=str(layout.models_dir / "runs" / "pending"))
    # The run folder (checkpoints the trainer resumes from) is the model version's own: a run with another
    # seed or setting on the same splits must start afresh, not resume another config's finished run.
    cfg = TrainConfig.build(values)
    cfg.output_dir = str(layout.models_dir / "runs" / model_version(cfg))
    return cfg, sources


def settings_metadata(cfg: TrainConfig, sources: dict) -> dict:
    """Every value the trainer gets, with its source (run config / profile / preset / deployment / default)."""
    skip = {"splits_dir", "output_dir", "adapter_dir", "splits_version"}
    return {k: {"value": v, "from": sources.get(k, "default")} for k, v in sorted(cfg.to_dict().items()) if k not in skip}



@asset(
    group_name="training",
    deps=[AssetKey("sft_splits")],
    pool=GPU_POOL,
    op_tags=GPU_TRAINING_TAGS,
    description="LoRA adapter (peft) + processor + training args, trained on the latest SFT splits.",
)
def lora_adapter(context: AssetExecutionContext, config: LoraAdapterConfig, storage: DataDirResource,
                 gpu: GpuResource) -> MaterializeResult:
    layout = DataLayout.at(storage.root)
    splits = store.load_latest(layout)
    cfg, sources = build_train_config(config, gpu, layout, splits)
    version = model_version(cfg)
    # preflight first: a run that cannot fit (or cannot be served) fails here in seconds, naming the budget
    if cfg.model_path:
        architectures.check_weights(cfg.model, cfg.model_path)
    plan = preflight.plan(cfg.to_dict(), gpu.profile, gpu.gpus, presets.PROFILE_MEMORY_GB.get(gpu.profile))
    plan_text = preflight.format_plan(plan)
    context.log.info(plan_text)
    if plan.problems:
        raise Failure(description=str(preflight.PreflightError("; ".join(plan.problems))),
                      metadata={"preflight": MetadataValue.md(f"```\n{plan_text}\n```")})
    meta = read_json(layout.adapter_dir / "train_meta.json", {}) or {}
    if not config.force and meta.get("model_version") == version and (layout.adapter_dir / "adapter_config.json").exists():
        context.log.info(f"adapter {version} already trained on splits {splits.version}; skipping")
        return MaterializeResult(metadata={"model_version": version, "splits_version": splits.version, "skipped": True,
                                           "path": str(layout.adapter_dir)}, data_version=DataVersion(version))
    cfg_path = Path(cfg.output_dir) / "train_config.json"
    write_json(cfg_path, cfg.to_dict())
    command = launch_command(gpu.launcher, gpu.gpus, cfg_path, gpu.master_port)
    md = run_trainer(context, command, cfg.output_dir, gpu.profile)
    md.update({"path": str(layout.adapter_dir), "launcher": describe_launch(gpu.launcher, gpu.gpus, gpu.master_port),
               "profile": gpu.profile, "splits_version": splits.version, "model_version": version,
               "settings": MetadataValue.json(settings_metadata(cfg, sources)),
               "preflight": MetadataValue.md(f"```\n{plan_text}\n```"), "preflight_total_gb": plan.total_gb})
    return MaterializeResult(metadata=md, data_version=DataVersion(version))


@asset_check(asset=lora_adapter, description="The adapter loads on its base and answers a validation sample with parseable JSON.")
def lora_adapter_answers_json(storage: DataDirResource) -> AssetCheckResult:
    from football_assets.core import prompts
    from football_assets.core.inference.predictor import EventPredictor

    layout = DataLayout.at(storage.root)
    meta = read_json(layout.adapter_dir / "train_meta.json", {}) or {}
    splits = store.load_latest(layout)
    sample = (splits.get("val") or splits.get("test") or splits["train"])[0]
    predictor = EventPredictor(meta.get("base_model", "tiny"), layout.adapter_dir)
    instruction = next(p["text"] for p in sample["messages"][1]["content"] if p["type"] == "text")
    text = predictor.generate(sample["video"], sample.get("fps", 4), instruction=instruction)
    try:
        parsed = prompts.parse_answer(sample.get("task", "events"), text)
        ok, why = True, f"parsed {json.dumps(parsed)[:200]}"
    except prompts.AnswerParseError as exc:
        ok, why = False, str(exc)
    return AssetCheckResult(passed=ok, severity=AssetCheckSeverity.ERROR,
                            metadata={"sample": sample["id"], "answer": text[:4000], "result": why,
                                      "model_version": meta.get("model_version", "")})
