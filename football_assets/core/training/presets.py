"""Training settings in one place: model selection, per-model presets, hardware profiles, and how they combine.

Every setting has exactly one default: the field defaults of the argument dataclasses in ``train_args``
(plus ``TRAINER_DEFAULTS`` for the ``transformers.TrainingArguments`` fields where the project differs from
Hugging Face's default); a preset sets only what its model needs differently, and a field every preset sets
has no default in ``TRAINER_DEFAULTS`` (a test keeps it so). On top of the defaults, highest last:

1. ``MODEL_PRESETS[model]``: what the model needs to learn well (lr, epochs, LoRA rank/alpha/dropout and
   targets, ``modules_to_save``, the video budget, demo pretraining, whether the adapter is for vLLM);
2. ``PROFILES[profile]``: what the machine needs (precision, ZeRO, checkpointing, batch x accumulation that
   fit its memory, checkpoint cadence, the memory budget the preflight checks);
3. the run config: only the values a user actually set (``None`` means "not set").

The profile beats the preset because it describes the hardware the run is on (batch 2 x 8 is what fits
80 GB, whatever the model's preset says); the user's explicit value beats both. ``train_args.resolve`` stacks
the layers and returns every value the trainer reads (``HfArgumentParser``) together with where it came from,
which the training asset shows in its metadata.

Which model: the run config's ``model``, else the deployment's (``FOOTBALL_MODEL``), else the model whose
weights path the deployment sets (``COSMOS_REASON1_PATH`` -> ``cosmos-reason1-7b``), else ``tiny``. So a
schedule or sensor run (no run config) on a 7B host trains the 7B with its presets, never "tiny".
"""

from __future__ import annotations

from pathlib import Path

from football_assets.core.training.model import MODELS, WIDTH_SPECS, get_spec

CONFIG_DIR = Path(__file__).parent / "configs"
ZERO2_CONFIG = CONFIG_DIR / "ds_zero2.json"


class ModelSelectionError(ValueError):
    """The model asked for and the weights or profile given do not go together; the message says how to fix it."""


#: Per-model presets. Sources for ``cosmos-reason1-7b``: LLaMA-Factory's Qwen2.5-VL-7B LoRA recipe
#: (examples/train_lora/qwen2_5vl_lora_sft.yaml: lr 1e-4, 3 epochs, cosine, warmup 0.1, bf16) and the
#: Cosmos-Reason1-7B model card (trained and run on 4 fps video). Rank 64 / alpha 128 is the project's choice
#: (alpha = 2 r; the tiny demo needed the rank); LoRA goes on the language model only and nothing else is
#: trained, the form vLLM serves on an unmodified base (``serve_with_vllm``).
MODEL_PRESETS: dict[str, dict] = {
    # the CPU demo: exactly the settings `make demo`'s figures were measured with
    "tiny": {
        # 10 epochs (was 20): on 64 demo clips held-out event F1 0.237 against the best trivial baseline's 0.039
        # (tests/test_demo_quality.py), at half the CPU time; the 3-seed figures are in bench/RESULTS.md.
        # save_steps 1000: with the real 152k vocabulary a checkpoint holds ~0.6 GB (embeddings, LM head and their Adam
        # states); a short CPU run resumes from its midpoint rather than writing one every 100 steps
        "learning_rate": 2e-3, "num_train_epochs": 10.0, "lora_dropout": 0.0, "per_device_train_batch_size": 4,
        "save_steps": 1000, "warmup_steps": 0.05, "modules_to_save": list(MODELS["tiny"].modules_to_save),
        "demo_pretrain_steps": 300,
    },
    # 336x504 frames: 216 merged tokens per 2 frames, 3456 video tokens per 8 s clip at 4 fps; timestamps: each
    # frame's time drawn on it, as Cosmos-Reason1's own inference does (``timestamps.py``)
    "cosmos-reason1-7b": {
        "learning_rate": 1e-4, "num_train_epochs": 3.0, "warmup_steps": 0.1, "serve_with_vllm": True, "timestamps": True,
        "modules_to_save": [],  # nothing but LoRA: the form vLLM serves on an unmodified base
    },
}

# The 7B rehearsals at full width (``model.WIDTH_SPECS``: the 7B's widths, 1-2 layers) train with the 7B's recipe.
MODEL_PRESETS.update({spec.name: dict(MODEL_PRESETS["cosmos-reason1-7b"]) for spec in WIDTH_SPECS})

#: Hardware profiles. ``memory_gb``: the per-device budget the preflight checks the plan against
#: (None: no accelerator, nothing to check).
PROFILES: dict[str, dict] = {
    "a100-80gb": {
        "bf16": True, "dtype": "bfloat16", "gradient_checkpointing": True, "deepspeed": str(ZERO2_CONFIG),
        "per_device_train_batch_size": 2, "gradient_accumulation_steps": 8, "attn_implementation": "sdpa",
        "save_steps": 200,
    },
    # fp32 weights and optimizer, bf16 autocast where the CPU has bf16 kernels (``train_args.bf16_native``): the
    # tiny model's step is bound by its 152k-wide LM head, which bf16 halves (bench/RESULTS.md, "CPU training step")
    "cpu": {"bf16": True, "dtype": "float32", "gradient_checkpointing": False, "deepspeed": None},
}
PROFILE_MEMORY_GB: dict[str, float | None] = {"a100-80gb": 80.0, "cpu": None}

#: ``model_path`` environment variable -> the model whose weights it holds
PATH_ENV_MODEL = {"COSMOS_REASON1_PATH": "cosmos-reason1-7b"}


def profile_values(profile: str) -> dict:
    """The profile's settings; an unknown name is an error listing the known ones."""
    if profile not in PROFILES:
        raise ValueError(f"unknown GPU profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    return dict(PROFILES[profile])


def select_model(requested: str | None, deployment: str | None = None, model_path: str | None = None) -> str:
    """The model to train or run (see the module docstring); ``tiny`` with a weights path is refused."""
    name = requested or deployment or (next(iter(PATH_ENV_MODEL.values())) if model_path else "tiny")
    spec = get_spec(name)  # UnknownModelError naming the known ones
    if spec.tiny is not None and model_path:
        raise ModelSelectionError(
            f"model {name!r} is built locally, but a weights path is set ({model_path}, from COSMOS_REASON1_PATH): "
            f"set FOOTBALL_MODEL=cosmos-reason1-7b (or the run config's model) to train those weights, "
            f"or unset COSMOS_REASON1_PATH to train the tiny demo model")
    return name


def auto_inference_settings(device: str | None = None, dtype: str | None = None) -> tuple[str, str]:
    """``(device, dtype)`` of this machine when not given: cuda + bf16 where a GPU is visible, else cpu + fp32."""
    if not device or device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if not dtype or dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    return device, dtype
