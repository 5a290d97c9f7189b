"""Training group: the event spotter, trained out of process through Dagster Pipes beside ``lora_adapter``.

Same pattern as ``training.py``: the asset writes a ``SpotterTrainConfig`` JSON and launches
``football_assets.core.spotter.train`` with the GPU resource's launcher through ``PipesSubprocessClient``;
rank 0 reports the metrics. It trains on the latest SFT splits version (train.jsonl; thresholds chosen on
val.jsonl), so test clips never reach it, sits in the ``gpu`` pool and is skipped when nothing changed.
"""

from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    Config,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from football_assets.core.dataset import store
from football_assets.core.fsutil import read_json, write_json
from football_assets.core.layout import DataLayout
from football_assets.core.spotter.train import SpotterTrainConfig, model_version, resolve
from football_assets.core.training.launch import describe as describe_launch
from football_assets.core.training.launch import launch_command
from football_assets.defs.placement import GPU_POOL, GPU_TRAINING_TAGS
from football_assets.defs.training.pipes import run_trainer
from resources import DataDirResource
from resources.gpu import GpuResource

SPOTTER_MODULE = "football_assets.core.spotter.train"


class EventSpotterConfig(Config):
    """Network and optimisation settings; a value left None takes ``SpotterTrainConfig``'s default (with the
    GPU profile's overrides, ``core/spotter/train.py``). The default is a frozen ImageNet EfficientNet-Lite0;
    ``backbone="regnety_800mf"`` (with ``backbone_weights``: a local ImageNet state dict) is the GPU option."""

    backbone: str | None = None
    backbone_weights: str | None = None
    freeze_backbone: bool | None = None
    feature_grid: list[int] | None = None  # [rows, cols]
    temporal: str | None = None
    cnn_width: int | None = None
    hidden: int | None = None
    height: int | None = None
    width: int | None = None
    epochs: float | None = None
    max_steps: int | None = None
    learning_rate: float | None = None
    batch_size: int | None = None
    seed: int | None = None
    save_steps: int | None = None
    cpu_threads: int | None = None
    force: bool = False  # retrain even if nothing changed


def build_spotter_config(config: EventSpotterConfig, gpu: GpuResource, layout, splits) -> SpotterTrainConfig:
    run_values = {k: v for k, v in config.model_dump().items() if k != "force"}
    fixed = {"splits_dir": str(splits.path), "splits_version": splits.version, "spotter_dir": str(layout.spotter_dir),
             "logging_steps": 1}
    pending = resolve(run_values, gpu.profile, **fixed, output_dir=str(layout.models_dir / "spotter_runs" / "pending"))
    # The model version's own run folder: another seed or setting must not resume a finished run of another config.
    return resolve(run_values, gpu.profile, **fixed,
                   output_dir=str(layout.models_dir / "spotter_runs" / model_version(pending)))


@asset(
    group_name="training",
    deps=[AssetKey("sft_splits")],
    pool=GPU_POOL,
    op_tags=GPU_TRAINING_TAGS,
    description="Per-frame event spotter (2D CNN + temporal model) with val-chosen thresholds, trained on the latest SFT splits.",
)
def event_spotter(context: AssetExecutionContext, config: EventSpotterConfig, storage: DataDirResource,
                  gpu: GpuResource) -> MaterializeResult:
    layout = DataLayout.at(storage.root)
    splits = store.load_latest(layout)
    cfg = build_spotter_config(config, gpu, layout, splits)
    version = model_version(cfg)
    meta = read_json(layout.spotter_dir / "train_meta.json", {}) or {}
    if not config.force and meta.get("model_version") == version and (layout.spotter_dir / "model.safetensors").exists():
        context.log.info(f"spotter {version} already trained on splits {splits.version}; skipping")
        return MaterializeResult(metadata={"model_version": version, "splits_version": splits.version, "skipped": True,
                                           "path": str(layout.spotter_dir)}, data_version=DataVersion(version))
    cfg_path = Path(cfg.output_dir) / "spotter_config.json"
    write_json(cfg_path, cfg.__dict__)
    command = launch_command(gpu.launcher, gpu.gpus, cfg_path, gpu.master_port, module=SPOTTER_MODULE)
    md = run_trainer(context, command, cfg.output_dir, gpu.profile)
    md.update({"path": str(layout.spotter_dir), "launcher": describe_launch(gpu.launcher, gpu.gpus, gpu.master_port, SPOTTER_MODULE), "profile": gpu.profile,
               "splits_version": splits.version, "model_version": version})
    return MaterializeResult(metadata=md, data_version=DataVersion(version))


@asset_check(asset=event_spotter, description="The spotter loads, comes from the latest splits version, scores a "
             "validation clip, and keeps every score within [0, 1].")
def event_spotter_scores_val_clip(storage: DataDirResource) -> AssetCheckResult:
    from football_assets.core.spotter.infer import Spotter, SpotterLoadError

    layout = DataLayout.at(storage.root)
    splits = store.load_latest(layout)
    try:
        spotter = Spotter.load(layout.spotter_dir)
    except SpotterLoadError as exc:
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.ERROR, metadata={"result": str(exc)})
    sample = next(s for s in (splits.get("val") or splits["train"]) if s.get("task", "events") == "events")
    spot, member = spotter.score_video(sample["video"])
    lo, hi = float(min(spot.min(), member.min())), float(max(spot.max(), member.max()))
    found = spotter.detect(spot, member)["intervals"]
    problems = []
    if spotter.splits_version != splits.version:
        problems.append(f"spotter trained on splits {spotter.splits_version}, latest is {splits.version}")
    if not (0 <= lo and hi <= 1):
        problems.append(f"scores outside [0, 1]: min {lo:.4g}, max {hi:.4g}")
    if len(spot) == 0:
        problems.append(f"no frames scored in {sample['video']}")
    return AssetCheckResult(passed=not problems, severity=AssetCheckSeverity.ERROR,
                            metadata={"sample": sample["id"], "frames": len(spot), "score_min": lo, "score_max": hi,
                                      "intervals": MetadataValue.json(found), "result": "; ".join(problems) or "ok",
                                      "model_version": spotter.meta.get("model_version", "")})
