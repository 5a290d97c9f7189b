"""The trainer's configuration the Hugging Face way: argument dataclasses plus ``transformers.TrainingArguments``.

A training config is one flat JSON object (what the ``lora_adapter`` asset writes): each key is a field of
``ModelArguments``, ``LoraArguments``, ``DataArguments`` or the real ``TrainingArguments``, and
``HfArgumentParser`` splits it into those four objects. The field defaults below, with ``TRAINER_DEFAULTS``
for the ``TrainingArguments`` fields where this project differs from Hugging Face, are the only defaults;
the model's preset (``presets.MODEL_PRESETS``) is applied over them for keys the JSON leaves out, so a
hand-written config for ``cosmos-reason1-7b`` gets the 7B settings too. ``output_dir`` is the run
directory: checkpoints go to ``<output_dir>/checkpoints``, next to metrics, loss curve and video cache.
"""

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Optional

from football_assets.core.prompts import FREE_TEXT_TASK
from football_assets.core.training import presets
from football_assets.core.training.model import get_spec
from resources import environment

#: The SFT sample tasks the trainer knows (``task`` of a splits sample); all are trained by default.
TASKS = ("events", "grounding", FREE_TEXT_TASK)


class TrainConfigError(ValueError):
    """A training configuration that cannot work; the message names the field and the cause."""


@dataclass
class ModelArguments:
    model: str = "tiny"  # a name in model.MODELS
    model_path: Optional[str] = None  # local weights directory (e.g. Cosmos-Reason1-7B); refused for tiny
    dtype: str = "float32"  # base weights' dtype (the GPU profile sets bfloat16); ``bf16`` is autocast on top
    attn_implementation: Optional[str] = None
    demo_pretrain_steps: int = 0  # tiny only: demo vision pretraining before LoRA (demo_pretrain.py)


@dataclass
class LoraArguments:
    lora_r: int = 64  # alpha = 2 r; the tiny demo needed the rank, LLaMA-Factory's 7B recipe is in this range
    lora_alpha: int = 128
    lora_dropout: float = 0.05
    target_modules: Optional[str] = None  # None: the language model's linear layers (model.LM_LINEAR_REGEX)
    modules_to_save: Optional[list[str]] = None  # None: none; extra fully trained modules (demo-only aid)
    serve_with_vllm: bool = False  # the adapter is for vLLM: no modules_to_save, no vision layers (preflight)
    adapter_dir: str = ""  # final adapter (default <output_dir>/adapter); replaced atomically


@dataclass
class DataArguments:
    splits_dir: str = ""  # one splits version directory with train.jsonl (and val.jsonl)
    splits_version: str = ""
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    max_train_samples: Optional[int] = None
    max_frames: Optional[int] = None  # video budget; None: the model spec's
    min_pixels: Optional[int] = None
    max_pixels: Optional[int] = None
    timestamps: bool = False  # each frame's time drawn on it (Cosmos-Reason1's --timestamp); tiny: off, chosen on val (bench/RESULTS.md, "Time on the frames")
    video_cache_mb: int = 2048  # in-memory video cache per process; beyond it items are read back from disk


#: ``TrainingArguments`` fields where the project differs from Hugging Face's defaults (the rest are HF's).
TRAINER_DEFAULTS: dict = {
    "lr_scheduler_type": "cosine", "per_device_train_batch_size": 1, "logging_steps": 1, "save_strategy": "steps", "save_steps": 50,
    "save_total_limit": 2, "report_to": "none", "remove_unused_columns": False, "dataloader_num_workers": 0,
    "label_names": ["labels"], "include_num_input_tokens_seen": "non_padding", "disable_tqdm": True,
    "save_only_model": False, "seed": 0,
    # Hugging Face's own defaults, listed because the trainer reads them
    "gradient_accumulation_steps": 1, "max_steps": -1, "weight_decay": 0.0, "bf16": False,
    "gradient_checkpointing": False, "deepspeed": None,  # gradient_checkpointing -> activation_checkpointing
}

OURS = (ModelArguments, LoraArguments, DataArguments)


def bf16_native(on_gpu: bool) -> bool:
    """Whether bf16 autocast runs natively here: on a GPU, or on a CPU whose oneDNN has bf16 kernels
    (AVX-512 BF16 / AMX). Elsewhere autocast would emulate bf16 and run slower than fp32, so ``bf16`` is
    then ignored and the run is fp32."""
    if on_gpu:
        return True
    import torch

    # torch (2.14) has no public question for this; the oneDNN op it uses itself to pick bf16 kernels answers
    # it (tests/test_gpu_path.py fails if it goes away)
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _training_fields() -> set[str]:
    from transformers import TrainingArguments

    return {f.name for f in fields(TrainingArguments) if f.init}


def defaults() -> dict:
    """Every default, flat: the dataclass fields and ``TRAINER_DEFAULTS``."""
    out: dict = {}
    for cls in OURS:
        out.update(asdict(cls()))
    out.update(TRAINER_DEFAULTS)
    return out


def resolve(run_config: dict | None, model: str, profile: str | None = "cpu") -> tuple[dict, dict]:
    """``(values, sources)``: every setting the trainer gets and, per key, where it came from (``default``,
    ``preset``, ``profile``, ``run config``).

    The one place the layers meet (defaults here -> ``presets.MODEL_PRESETS[model]`` -> ``presets.PROFILES[profile]``
    -> ``run_config``, highest last): the training asset and ``train --dry-run`` call it with the deployment's
    profile, the trainer (``TrainConfig.from_dict``) with a config file as the run config and no profile (a file
    the asset wrote holds every value already; a hand-written one gets the model's preset for what it leaves
    out). ``None`` entries count as not set; a video budget left unset is the model's own.
    """
    if model not in presets.MODEL_PRESETS:
        raise presets.ModelSelectionError(f"model {model!r} has no preset; known: {', '.join(presets.MODEL_PRESETS)}")
    spec = get_spec(model)
    values: dict = {**defaults(), "model": model}
    sources: dict = {k: "default" for k in values}
    sources["model"] = "selection"
    layers = [("preset", presets.MODEL_PRESETS[model]), ("profile", presets.profile_values(profile) if profile else {}),
              ("run config", {k: v for k, v in (run_config or {}).items() if v is not None and k != "model"})]
    for name, layer in layers:
        for k, v in layer.items():
            values[k] = list(v) if isinstance(v, (list, tuple)) else v
            sources[k] = name
    for key in ("max_frames", "min_pixels", "max_pixels"):
        if values.get(key) is None:
            values[key], sources[key] = getattr(spec, key), "model"
    return values, sources


def model_budget(model: str):
    """The video budget ``model`` runs at without an adapter (one trained with settings carries its own):
    the resolved defaults and the model's preset, as a run with no config would train it."""
    from football_assets.core.training.video_inputs import VideoBudget

    values = resolve(None, model, profile=None)[0]
    return VideoBudget(values["max_frames"], values["min_pixels"], values["max_pixels"], bool(values["timestamps"]))


class TrainConfig:
    """One resolved training configuration; its attributes are the flat JSON keys (``cfg.__dict__`` is the JSON).

    ``build`` takes values ``resolve`` returned (plus the run's paths); ``from_dict`` resolves a config file's
    values first (the trainer's entry point); both validate. ``parse`` returns the four argument
    objects through ``HfArgumentParser``.
    """

    def __init__(self, values: dict):
        self.__dict__.update(values)

    @classmethod
    def build(cls, values: dict) -> "TrainConfig":
        """``values`` (``resolve``'s, plus the run's paths), validated."""
        known = set(defaults()) | {f.name for c in OURS for f in fields(c)} | _training_fields()
        unknown = sorted(set(values) - known)
        if unknown:
            raise TrainConfigError(f"unknown training config field(s): {', '.join(unknown)} "
                                   "(fields of ModelArguments, LoraArguments, DataArguments or TrainingArguments)")
        cfg = cls(dict(values))
        cfg.validate()
        return cfg

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """A config file's values, resolved (``resolve``: the model's preset under them, no hardware profile)."""
        model = d.get("model") or "tiny"
        get_spec(model)  # UnknownModelError naming the known ones
        return cls.build(resolve(d, model, profile=None)[0])

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "TrainConfig":
        p = Path(path)
        if not p.exists():
            raise TrainConfigError(f"training config {p} does not exist")
        try:
            d = json.loads(p.read_text())
        except json.JSONDecodeError as exc:
            raise TrainConfigError(f"training config {p} is not valid JSON ({exc})") from None
        return cls.from_dict(d)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def ours(self):
        """``(ModelArguments, LoraArguments, DataArguments)`` through ``HfArgumentParser``."""
        from transformers import HfArgumentParser

        names = {f.name for c in OURS for f in fields(c)}
        return HfArgumentParser(OURS).parse_dict({k: v for k, v in self.__dict__.items() if k in names})

    def parse(self, on_gpu: bool):
        """All four argument objects; ``TrainingArguments`` gets the run-time fields (checkpoint dir, device)."""
        from transformers import HfArgumentParser, TrainingArguments

        names = _training_fields()
        t = {k: v for k, v in self.__dict__.items() if k in names}
        t.update(output_dir=str(Path(self.output_dir) / "checkpoints"), bf16=bool(t.get("bf16")) and bf16_native(on_gpu),
                 use_cpu=not on_gpu, data_seed=t.get("seed", 0),
                 ddp_backend=None if on_gpu or environment.world_size() == 1 else "gloo")
        # transformers 5 names it activation checkpointing; non-reentrant needs no input that requires grad
        t["activation_checkpointing"] = bool(t.pop("gradient_checkpointing", False))
        if t["activation_checkpointing"]:
            t["activation_checkpointing_kwargs"] = {"use_reentrant": False}
        (training,) = HfArgumentParser(TrainingArguments).parse_dict(t)
        return (*self.ours(), training)

    def validate(self) -> None:
        spec = get_spec(self.model)
        if spec.tiny is not None and self.model_path:
            raise TrainConfigError(f"model_path {self.model_path} given for model {self.model!r}, which is built "
                                   "locally: choose the model those weights are (e.g. cosmos-reason1-7b)")
        if self.lora_r < 1:
            raise TrainConfigError(f"lora_r must be >= 1 (a rank-{self.lora_r} LoRA trains nothing)")
        if self.lora_alpha <= 0:
            raise TrainConfigError(f"lora_alpha must be > 0, got {self.lora_alpha}")
        if not 0 <= self.lora_dropout < 1:
            raise TrainConfigError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if self.per_device_train_batch_size < 1 or self.__dict__.get("gradient_accumulation_steps", 1) < 1:
            raise TrainConfigError("per_device_train_batch_size and gradient_accumulation_steps must be >= 1, got "
                                   f"{self.per_device_train_batch_size}, {self.__dict__.get('gradient_accumulation_steps')}")
        if self.video_cache_mb < 0:
            raise TrainConfigError(f"video_cache_mb must be >= 0, got {self.video_cache_mb}")
        if self.serve_with_vllm and self.modules_to_save:
            raise TrainConfigError(f"serve_with_vllm: modules_to_save {self.modules_to_save} cannot be loaded by "
                                   "vLLM's LoRA support; set modules_to_save to [] (or serve_with_vllm to false)")
        if not self.__dict__.get("output_dir"):
            raise TrainConfigError("output_dir is required")
        if not self.splits_dir:
            raise TrainConfigError("splits_dir is required (a splits version directory with train.jsonl)")
        train = Path(self.splits_dir) / "train.jsonl"
        if not train.exists():
            raise TrainConfigError(f"splits_dir {self.splits_dir}: {train.name} missing (materialize sft_splits first)")
        if self.__dict__.get("deepspeed") and not Path(self.deepspeed).exists():
            raise TrainConfigError(f"deepspeed config {self.deepspeed} does not exist")
        bad = sorted(set(self.tasks) - set(TASKS))
        if bad:
            raise TrainConfigError(f"unknown task(s) {bad}; expected any of {', '.join(map(repr, TASKS))}")

    @property
    def adapter_path(self) -> Path:
        return Path(self.adapter_dir) if self.adapter_dir else Path(self.output_dir) / "adapter"

    def budget(self):
        from football_assets.core.training.video_inputs import VideoBudget

        return VideoBudget(max_frames=self.max_frames, min_pixels=self.min_pixels, max_pixels=self.max_pixels,
                           timestamps=bool(self.timestamps))
