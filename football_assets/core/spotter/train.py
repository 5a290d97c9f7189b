"""Spotter training with the Hugging Face Trainer: ``python -m football_assets.core.spotter.train --config cfg.json``.

Same shape as the LoRA trainer (``core/training/train.py``): a JSON config, one entry point for ``python``,
``torchrun`` and ``deepspeed``, seeded, resumed from the last checkpoint in ``<output_dir>/checkpoints``;
rank 0 writes the spotter directory atomically and reports to Dagster through Pipes when launched by
``PipesSubprocessClient``. Trains on the ``events`` samples of one SFT splits version (train.jsonl) and
chooses the interval threshold on val.jsonl, so test clips never reach it.

Settings: every field has one default, the ``SpotterTrainConfig`` dataclass's; ``resolve`` puts the hardware
profile's overrides (``PROFILES``) and then the values a run actually set (None: not set) on top, once.
With the default frozen EfficientNet-Lite0 backbone each clip's per-frame features are computed once per
run (``data.FeatureCache``) and only the temporal model and heads train. Beside the network the spotter
directory gets the domain score's reference (``domain.py``): the train clips' pooled features and a
threshold chosen on val against generated out-of-domain clips.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from football_assets.core.spotter.model import NetConfig, SpotterConfigError
from football_assets.core.training.extensions import clear_stale_build_locks
from football_assets.core.training.progress import console_to_log, make_callback, quiet_console, run_under_pipes
from resources import environment


@dataclass
class SpotterTrainConfig:
    splits_dir: str = ""  # one splits version directory with train.jsonl and val.jsonl
    splits_version: str = ""
    output_dir: str = ""  # checkpoints, metrics, loss curve
    spotter_dir: str = ""  # final spotter (default <output_dir>/spotter); replaced atomically
    # network (NetConfig)
    backbone: str = "efficientnet_lite0"
    backbone_weights: str | None = None  # None: the packaged Lite0 ImageNet weights
    freeze_backbone: bool = True  # chosen on val (bench/RESULTS.md, "Spotter")
    feature_grid: tuple[int, int] = (1, 1)  # Lite0 features pooled to rows x cols
    cnn_width: int = 8
    temporal: str = "gru"
    hidden: int = 64
    height: int = 96  # 96x144 beat 128x192 on val with the frozen Lite0 (bench/RESULTS.md, "Spotter")
    width: int = 144
    # targets and loss
    clip_frames: int = 32  # training window (8 s at 4 fps)
    sigma: float = 1.0  # spot target Gaussian, in frames
    radius: int = 2  # spot target dilation, in frames
    fg_weight: float = 5.0
    member_pos_weight: float = 4.0
    flip: bool = True
    # optimisation
    epochs: float = 100.0  # frozen Lite0 on 32 demo clips: val event F1 0.80 at 100 epochs, 0.33 at 30
    max_steps: int = -1
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: float = 0.05  # < 1: a fraction of the optimizer steps (transformers' reading)
    lr_scheduler: str = "cosine"
    batch_size: int = 4
    grad_accum: int = 1
    seed: int = 0
    bf16: bool = False
    deepspeed: str | None = None
    logging_steps: int = 5
    save_steps: int = 200
    save_total_limit: int = 2
    nms_window_s: float = 1.0
    cpu_threads: int | None = None  # torch intra-op threads on CPU (1 is fastest on a busy shared machine)

    @classmethod
    def from_dict(cls, d: dict) -> "SpotterTrainConfig":
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise SpotterConfigError(f"unknown spotter config field(s): {', '.join(unknown)}")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "SpotterTrainConfig":
        p = Path(path)
        if not p.exists():
            raise SpotterConfigError(f"spotter config {p} does not exist")
        return cls.from_dict(json.loads(p.read_text()))

    def net(self) -> NetConfig:
        return NetConfig(backbone=self.backbone, backbone_weights=self.backbone_weights,
                         freeze_backbone=self.freeze_backbone, feature_grid=tuple(self.feature_grid), cnn_width=self.cnn_width, temporal=self.temporal,
                         hidden=self.hidden, height=self.height, width=self.width)

    def validate(self) -> None:
        self.net().validate()
        if not self.output_dir:
            raise SpotterConfigError("output_dir is required")
        if not self.splits_dir:
            raise SpotterConfigError("splits_dir is required (a splits version directory with train.jsonl)")
        for name in ("train.jsonl", "val.jsonl"):
            if not (Path(self.splits_dir) / name).exists():
                raise SpotterConfigError(f"splits_dir {self.splits_dir}: {name} missing (materialize sft_splits first)")
        if self.backbone_weights and not Path(self.backbone_weights).exists():
            raise SpotterConfigError(f"backbone_weights {self.backbone_weights} does not exist")
        if self.clip_frames < 4:
            raise SpotterConfigError(f"clip_frames must be >= 4, got {self.clip_frames}")
        if self.batch_size < 1 or self.grad_accum < 1:
            raise SpotterConfigError(f"batch_size and grad_accum must be >= 1, got {self.batch_size}, {self.grad_accum}")
        if self.deepspeed and not Path(self.deepspeed).exists():
            raise SpotterConfigError(f"deepspeed config {self.deepspeed} does not exist")

    @property
    def spotter_path(self) -> Path:
        return Path(self.spotter_dir) if self.spotter_dir else Path(self.output_dir) / "spotter"


#: Per hardware profile: what the machine changes (precision). The backbone and sizes are run settings.
PROFILES: dict[str, dict] = {"a100-80gb": {"bf16": True}, "cpu": {}}


def resolve(run_values: dict, profile: str, **fixed) -> SpotterTrainConfig:
    """The one place settings combine, highest last: the dataclass defaults, ``PROFILES[profile]``, the run's
    values that are not None, then ``fixed`` (paths and versions the caller owns). Validated."""
    if profile not in PROFILES:
        raise SpotterConfigError(f"unknown GPU profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    return SpotterTrainConfig.from_dict({**PROFILES[profile], **{k: v for k, v in run_values.items() if v is not None},
                                         **fixed})


def model_version(cfg: SpotterTrainConfig) -> str:
    raw = json.dumps({k: v for k, v in asdict(cfg).items() if k not in ("output_dir", "spotter_dir")}, sort_keys=True)
    return f"spotter-{cfg.backbone}-{hashlib.sha256(raw.encode()).hexdigest()[:12]}"


def rank() -> int:
    return environment.rank()


def plot_loss(history: list[dict], dest: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([h["step"] for h in history], [h["loss"] for h in history], marker=".", linewidth=0.8)
    ax.set(xlabel="optimizer step", ylabel="training loss", title="Spotter training loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(dest, dpi=100)
    plt.close(fig)


def evaluate_split(spotter, samples: list[dict], cache, features=None) -> dict:
    """Scores every clip of a split (from ``features``, a ``FeatureCache``, when the backbone is frozen);
    returns per-clip scores, each clip's mean backbone feature, SoccerNet tight a-mAP of the spots and
    frames/s of the scoring (decoding excluded; a frozen backbone's feature time included)."""
    from football_assets.core.metrics import soccernet_average_map

    per_clip, pooled, frames, seconds = {}, {}, 0, 0.0
    for s in samples:
        if features is not None:
            feats = features.get(s["video"])
            t0 = time.perf_counter()
            spot, member = spotter.score_features(feats)
            seconds += time.perf_counter() - t0 + features.seconds_per_frame * len(feats)
            pooled[s["clip_id"]] = feats.mean(0)
            frames += len(feats)
        else:
            arr = cache.get(s["video"])
            t0 = time.perf_counter()
            spot, member, pooled[s["clip_id"]] = spotter.score_frames(arr, features=True)
            seconds += time.perf_counter() - t0
            frames += len(arr)
        per_clip[s["clip_id"]] = (s["target"], spot, member, float(s.get("fps", 4)))
    gts = {k: v[0] for k, v in per_clip.items()}
    spots = {k: spotter.detect(v[1], v[2])["spots"] for k, v in per_clip.items()}
    amap = soccernet_average_map(gts, spots)["a_mAP"]
    return {"clips": per_clip, "pooled": pooled, "tight_a_mAP": amap, "frames_per_s": frames / seconds if seconds else None}


def domain_reference(spotter, train_pooled: list, val_pooled: list):
    """The domain score's reference: train clips, val clips (in domain) and generated out-of-domain clips of a
    training window's length, all through the spotter's own backbone."""
    from football_assets.core.spotter.domain import DomainReference, generated_out_of_domain

    ood = {name: spotter.score_frames(arr, features=True)[2]
           for name, arr in generated_out_of_domain(spotter.clip_frames, spotter.cfg.height, spotter.cfg.width).items()}
    return DomainReference.build(train_pooled, val_pooled, ood)


def run(cfg: SpotterTrainConfig, report=None) -> dict:
    """Train; on rank 0 choose thresholds on val, write the spotter directory and ``metrics.json``."""
    import torch
    from safetensors.torch import save_file
    from transformers import Trainer, TrainingArguments, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from football_assets.core.fsutil import atomic_dir, write_json
    from football_assets.core.spotter import decode
    from football_assets.core.spotter.data import FeatureCache, FrameCache, SpotterDataset, load_event_samples
    from football_assets.core.spotter.infer import Spotter
    from football_assets.core.spotter.model import SpotterNet

    set_seed(cfg.seed)
    on_gpu = torch.cuda.is_available()
    if cfg.cpu_threads and not on_gpu:
        torch.set_num_threads(cfg.cpu_threads)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    net_cfg = cfg.net()
    train, val = load_event_samples(cfg.splits_dir, "train"), load_event_samples(cfg.splits_dir, "val")
    device = "cuda" if on_gpu else "cpu"
    cache = FrameCache(cfg.height, cfg.width)
    model = SpotterNet(net_cfg, cfg.fg_weight, cfg.member_pos_weight)
    features = FeatureCache(cache, Spotter(model, cfg.clip_frames, {}, {}, device).backbone_features, cfg.flip) \
        if net_cfg.frozen else None
    t0 = time.time()
    dataset = SpotterDataset(train, cache if features is None else features, net_cfg.classes, cfg.clip_frames, cfg.sigma, cfg.radius, cfg.flip)
    decode_s = time.time() - t0  # decoding, and with a frozen backbone its features
    history: list[dict] = []

    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_steps,
        lr_scheduler_type=cfg.lr_scheduler, logging_steps=cfg.logging_steps, save_strategy="steps",
        save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit, seed=cfg.seed, data_seed=cfg.seed,
        bf16=cfg.bf16 and on_gpu, deepspeed=cfg.deepspeed, report_to=[], remove_unused_columns=False,
        dataloader_num_workers=0, use_cpu=not on_gpu,
        ddp_backend=None if on_gpu or environment.world_size() == 1 else "gloo",
        label_names=["spot_target", "member_target"], disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=dataset,
                      callbacks=[make_callback(history, report, out / "train_log.jsonl", what="spotter training")])
    quiet_console(trainer)
    last = get_last_checkpoint(args.output_dir) if Path(args.output_dir).is_dir() else None
    if report:
        report(f"training spotter ({cfg.backbone}/{cfg.temporal}) on {len(train)} clips, {len(dataset)} windows"
               + (f", resuming from {last}" if last else ""))
    t1 = time.time()
    result = trainer.train(resume_from_checkpoint=last)
    train_s = time.time() - t1
    if not trainer.is_world_process_zero():
        return {}
    net = trainer.model
    net = getattr(net, "module", net).float().cpu()
    spotter = Spotter(net, cfg.clip_frames, {"interval": 0.5, "nms_window_s": cfg.nms_window_s}, {}, device)
    ev = evaluate_split(spotter, val, cache, features)
    train_pooled = [features.get(s["video"]).mean(0) for s in train] if features is not None else \
        [spotter.score_frames(cache.get(s["video"]), features=True)[2] for s in train]
    domain = domain_reference(spotter, train_pooled, list(ev["pooled"].values()))
    chosen = decode.choose_threshold(list(ev["clips"].values()))
    proposal = decode.choose_proposal_threshold(list(ev["clips"].values()), ceiling=chosen["threshold"])
    thresholds = {"interval": chosen["threshold"], "proposal": proposal["threshold"], "member": 0.5,
                  "nms_window_s": cfg.nms_window_s, "chosen_on": "val", "val_event_f1": chosen["f1"],
                  "val_proposal_recall": proposal["recall"]}
    state = trainer.state
    info = {"model_version": model_version(cfg), "splits_version": cfg.splits_version, "backbone": cfg.backbone,
            "temporal": cfg.temporal, "frame_size": f"{cfg.height}x{cfg.width}", "resumed_from": last,
            "steps": int(state.global_step), "epochs": float(state.epoch or 0), "train_clips": len(train),
            "train_windows": len(dataset), "val_clips": len(val), "train_loss": result.metrics.get("train_loss"),
            "first_loss": history[0]["loss"] if history else None, "final_loss": history[-1]["loss"] if history else None,
            "train_runtime_s": train_s, "decode_s": decode_s, "video_decodes": cache.decodes,
            "backbone_feature_frames": features.encoded_frames if features is not None else 0,
            "val_tight_a_mAP": ev["tight_a_mAP"], "val_event_f1": chosen["f1"], "interval_threshold": chosen["threshold"],
            "proposal_threshold": proposal["threshold"],
            "score_frames_per_s": ev["frames_per_s"], "device": device, "backbone_frozen": net_cfg.frozen,
            "domain_threshold": domain.threshold, "domain_val_max": domain.info["val_max"],
            "domain_ood_min": min(domain.info["ood_scores"].values()),
            "params": sum(p.numel() for p in net.parameters()), "loss_curve": history}
    if history:
        plot_loss(history, out / "loss_curve.png")
    with atomic_dir(cfg.spotter_path) as tmp:
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp / "model.safetensors"))
        write_json(tmp / "spotter_config.json", {"net": net_cfg.to_dict(), "clip_frames": cfg.clip_frames,
                                                 "train_config": asdict(cfg)})
        write_json(tmp / "thresholds.json", thresholds)
        domain.save(tmp)
        write_json(tmp / "train_meta.json", {"splits_version": cfg.splits_version, "model_version": info["model_version"],
                                             "metrics": {k: v for k, v in info.items() if k != "loss_curve"}})
    write_json(out / "metrics.json", info)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="spotter training config JSON (SpotterTrainConfig fields)")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=None, help="set by the deepspeed launcher")
    args = parser.parse_args(argv)
    console_to_log(args.config)
    cfg = SpotterTrainConfig.from_file(args.config)
    if cfg.deepspeed:
        for lock in clear_stale_build_locks():
            print(f"removed a stale extension build lock: {lock}", file=sys.stderr)
    run_under_pipes(run, cfg, model_version(cfg), rank())
    return 0


if __name__ == "__main__":
    sys.exit(main())
