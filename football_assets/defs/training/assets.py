"""Training group: the LoRA adapter, trained out of process through Dagster Pipes.

The asset writes a training config JSON, launches ``football_assets.core.training.train`` with the GPU resource's
launcher (python / torchrun / deepspeed) through ``PipesSubprocessClient``; rank 0 reports the metrics.
It sits in the ``gpu`` pool (one at a time, see dagster.yaml) and carries dagster-k8s GPU requests.
Skips training when the splits version and training config are unchanged and the adapter exists.
"""

import base64
import json
import os
from pathlib import Path

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetExecutionContext, AssetKey, Config, DataVersion,
                     MaterializeResult, MetadataValue, PipesSubprocessClient, asset, asset_check)

from football_assets.core.dataset import store
from football_assets.core.fsutil import read_json, write_json
from football_assets.core.training.train import TrainConfig, model_version
from football_assets.core.layout import DataLayout
from football_assets.defs.placement import GPU_POOL, GPU_TRAINING_TAGS
from resources import DataDirResource
from resources.gpu import GpuResource



class LoraAdapterConfig(Config):
    """Model and optimisation settings (hardware settings come from the GPU resource's profile)."""

    model: str = "tiny"
    epochs: float = 20.0
    max_steps: int = -1
    learning_rate: float = 2e-3
    lora_r: int = 64  # the tiny demo needs the rank (r=16: class-presence F1 ~0.1 lower); fine for 7B too
    lora_alpha: int = 128
    lora_dropout: float = 0.0
    batch_size: int = 4
    grad_accum: int = 1
    seed: int = 0
    save_steps: int = 100
    demo_pretrain_steps: int = 300  # tiny only: brief vision pretraining on the train split (demo base)
    force: bool = False  # retrain even if nothing changed


def build_train_config(config: LoraAdapterConfig, gpu: GpuResource, layout, splits) -> TrainConfig:
    work = layout.models_dir / "runs" / splits.version
    fields = {k: v for k, v in config.model_dump().items() if k != "force"}
    fields.update(gpu.overrides())
    fields.update(splits_dir=str(splits.path), splits_version=splits.version, output_dir=str(work),
                  adapter_dir=str(layout.adapter_dir), lr_scheduler="cosine", warmup_ratio=0.05, logging_steps=1)
    return TrainConfig.from_dict(fields)


def _loss_png_md(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f"![loss curve](data:image/png;base64,{data})"


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
    cfg = build_train_config(config, gpu, layout, splits)
    version = model_version(cfg)
    meta = read_json(layout.adapter_dir / "train_meta.json", {}) or {}
    if not config.force and meta.get("model_version") == version and (layout.adapter_dir / "adapter_config.json").exists():
        context.log.info(f"adapter {version} already trained on splits {splits.version}; skipping")
        return MaterializeResult(metadata={"model_version": version, "splits_version": splits.version, "skipped": True,
                                           "path": str(layout.adapter_dir)}, data_version=DataVersion(version))
    cfg_path = Path(cfg.output_dir) / "train_config.json"
    write_json(cfg_path, cfg.__dict__)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    command = gpu.command(cfg_path)
    context.log.info(f"launching: {' '.join(command)}")
    result = PipesSubprocessClient(env=env).run(command=command, context=context).get_materialize_result()
    md = dict(result.metadata or {})
    png = Path(cfg.output_dir) / "loss_curve.png"
    if png.exists():
        md["loss_curve_plot"] = MetadataValue.md(_loss_png_md(png))
    md.update({"path": str(layout.adapter_dir), "launcher": gpu.describe(), "profile": gpu.profile,
               "splits_version": splits.version, "model_version": version})
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
                            metadata={"sample": sample["id"], "answer": text[:500], "result": why,
                                      "model_version": meta.get("model_version", "")})
