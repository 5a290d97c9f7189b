"""Base models: one code path for the tiny demo model and NVIDIA Cosmos-Reason1-7B.

Both are ``Qwen2_5_VLForConditionalGeneration`` with a ``Qwen2_5_VLProcessor``, so the chat template,
video handling and LoRA targets are identical. ``tiny`` is built from a small config with the real
Qwen2.5-VL tokenizer (``tokenizer.py``, built offline, so its embedding and LM head have the published
152,064 rows) and deterministic seeded weights; ``cosmos-reason1-7b`` loads from a local directory
(``COSMOS_REASON1_PATH`` or ``path=``) or the hub id where the hub is reachable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from football_assets.core.training.tokenizer import CHAT_TEMPLATE, MODEL_VOCAB_ROWS

#: Regex (peft ``target_modules`` as a string = full-match on the full module path) selecting the
#: language model's attention and MLP projections only; the vision tower has ``qkv``/``proj`` and
#: MLP layers named ``gate_proj``/``up_proj``/``down_proj`` too, which a plain name list would hit.
LM_LINEAR_REGEX = r".*language_model\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|o_proj)|mlp\.(gate_proj|up_proj|down_proj))"


class UnknownModelError(ValueError):
    """A model name that is not in ``MODELS``."""


@dataclass(frozen=True)
class ModelSpec:
    """How to get one base model, plus its default video budget and LoRA extras."""

    name: str
    hub_id: str | None = None
    path_env: str | None = None  # env var holding a local directory with the weights
    tiny: dict | None = None  # config of the locally built model
    max_frames: int = 32  # 8 s at 4 fps
    min_pixels: int = 28 * 28 * 4
    max_pixels: int = 28 * 28 * 256
    #: extra fully trained modules (peft ``modules_to_save``); documented demo-only aid, see README
    modules_to_save: tuple[str, ...] = ()
    #: a locally built base is saved next to its adapter; False: rebuilt from its seed instead (multi-GB bases)
    bundle_base: bool = True

    def fingerprint(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


TINY_CONFIG = {
    "seed": 0,
    "vocab_size": MODEL_VOCAB_ROWS,
    "text": {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "max_position_embeddings": 4096},
    "vision": {"depth": 2, "hidden_size": 64, "intermediate_size": 128, "num_heads": 4, "patch_size": 14,
               "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112, "fullatt_block_indexes": [1],
               "tokens_per_second": 2},
}

MODELS: dict[str, ModelSpec] = {
    # 84x112 frames: 12 merged tokens per 2 frames, 192 video tokens per 8 s clip at 4 fps
    "tiny": ModelSpec("tiny", tiny=TINY_CONFIG, max_frames=32, min_pixels=84 * 112, max_pixels=12000,
                      modules_to_save=("merger", "embed_tokens", "lm_head")),
    # Cosmos-Reason1 is trained on 4 fps video; 336x504 frames: 216 merged tokens per 2 frames,
    # 3456 per 8 s clip (memory plan: core/training/preflight.py, `football-events train --dry-run`)
    "cosmos-reason1-7b": ModelSpec("cosmos-reason1-7b", hub_id="nvidia/Cosmos-Reason1-7B",
                                   path_env="COSMOS_REASON1_PATH", max_frames=32,
                                   min_pixels=28 * 28 * 16, max_pixels=336 * 504),
}


def width_spec(text_layers: int, vision_depth: int) -> ModelSpec:
    """The 7B rehearsal: Qwen2.5-VL-7B's real widths (``architectures.QWEN25_VL_7B``) with few layers and seeded random
    weights, built locally like ``tiny`` with the real tokenizer and the 7B's video budget, so the trainer, the
    predictor and ``analyze`` run the 7B's shapes on CPU. Its full-attention blocks are the 7B's within its depth,
    else its last block (``width_spec(28, 32)`` is the whole 7B architecture, random). Not bundled:
    a 1-layer base is ~1.1 B parameters, rebuilt identically from the seed wherever it is loaded."""
    seven = MODELS["cosmos-reason1-7b"]
    return ModelSpec(f"qwen25vl-7b-width-t{text_layers}v{vision_depth}", max_frames=seven.max_frames,
                     min_pixels=seven.min_pixels, max_pixels=seven.max_pixels, bundle_base=False,
                     tiny={"widths_of": "cosmos-reason1-7b", "text_layers": text_layers, "vision_depth": vision_depth,
                           "seed": 0, "init_dtype": "bfloat16"})


#: 1 text layer + 1 vision block, and one more of each: the per-layer deltas of bench/bench_7b_width.py
WIDTH_SPECS = [width_spec(1, 1), width_spec(2, 1), width_spec(1, 2)]
MODELS.update({s.name: s for s in WIDTH_SPECS})


def tiny_config(spec: ModelSpec) -> dict:
    """The locally built model's config (``TINY_CONFIG`` form); a width spec's comes from the published 7B sizes."""
    cfg = spec.tiny
    if "widths_of" not in cfg:
        return cfg
    from football_assets.core.training.architectures import ARCHITECTURES

    arch = ARCHITECTURES[cfg["widths_of"]]
    text = {k: v for k, v in arch["text"].items() if k not in ("mrope_section", "rope_theta", "vocab_size")}
    depth = cfg["vision_depth"]
    full = [i for i in arch["vision"]["fullatt_block_indexes"] if i < depth] or [depth - 1]  # at least one
    vision = {**arch["vision"], "depth": depth, "fullatt_block_indexes": full}
    vision.pop("out_hidden_size")
    return {"seed": cfg["seed"], "vocab_size": arch["text"]["vocab_size"], "rope_theta": arch["text"]["rope_theta"],
            "init_dtype": cfg["init_dtype"], "text": {**text, "num_hidden_layers": cfg["text_layers"]}, "vision": vision}


def get_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    return MODELS[name]


def build_tiny_processor(spec: ModelSpec):
    """Processor for the tiny model: the Qwen2.5-VL tokenizer and chat template, image/video processors of
    the tiny vision tower's geometry and the spec's pixel budget."""
    from football_assets.core.training.tokenizer import build_qwen_processor

    vis = tiny_config(spec)["vision"]
    return build_qwen_processor(min_pixels=spec.min_pixels, max_pixels=spec.max_pixels, patch_size=vis["patch_size"],
                                temporal_patch_size=vis["temporal_patch_size"], merge_size=vis["spatial_merge_size"])


def build_tiny_model(spec: ModelSpec, tokenizer):
    """A randomly initialised, seeded tiny Qwen2.5-VL (same weights for the same config and torch).

    ``init_dtype`` (a width spec: bf16) allocates in that dtype without Hugging Face's init, then ``seeded_init``."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    cfg = tiny_config(spec)
    text, vis = cfg["text"], cfg["vision"]
    head_dim = text["hidden_size"] // text["num_attention_heads"]
    half = head_dim // 2  # mrope splits the rotary half-dim into temporal/height/width sections
    section = [half - 2 * (half * 3 // 8), half * 3 // 8, half * 3 // 8]
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=cfg["vocab_size"], **text, tie_word_embeddings=False,
            rope_parameters={"rope_type": "default", "rope_theta": cfg.get("rope_theta", 10000.0), "mrope_section": section},
            bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
            eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
            pad_token_id=tokenizer.pad_token_id,
        ),
        vision_config=dict(**vis, out_hidden_size=text["hidden_size"], in_channels=3),
        image_token_id=tokenizer.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tokenizer.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tokenizer.convert_tokens_to_ids("<|vision_end|>"),
        tie_word_embeddings=False,
    )
    if "init_dtype" in cfg:  # a width spec: allocate without Hugging Face's init (minutes at 1 B params), then seed
        from transformers.initialization import no_init_weights

        with no_init_weights():
            model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=getattr(torch, cfg["init_dtype"]))
        seeded_init(model, cfg["seed"], config.text_config.initializer_range)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg["seed"])
            model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = config.text_config.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


#: a prime: tiled into a weight matrix, every row starts at a different offset of the pool
SEED_POOL = 1_048_573


def seeded_init(model, seed: int, std: float = 0.02) -> None:
    """A cheap deterministic init of every parameter, in place on its device: norm scales 1, biases 0, the rest
    N(0, std) values from a per-parameter seeded pool of ``SEED_POOL`` draws, tiled (drawing 1 B normals one by
    one takes minutes on a CPU). Random weights at real sizes, for memory and speed runs: same seed, same weights."""
    import torch

    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            if p.dim() == 1:
                p.fill_(0.0 if name.endswith("bias") else 1.0)
                continue
            g = torch.Generator(p.device).manual_seed(seed * 100003 + i)
            flat, n = p.view(-1), min(p.numel(), SEED_POOL)
            pool = torch.randn(n, generator=g, device=p.device, dtype=torch.float32).mul_(std).to(p.dtype)
            whole = flat.numel() // n * n
            flat[:whole].view(-1, n).copy_(pool.expand(whole // n, n))
            flat[whole:].copy_(pool[: flat.numel() - whole])


def resolve_path(spec: ModelSpec, path: str | os.PathLike | None) -> str:
    """The local weights directory ``path`` (the deployment's ``COSMOS_REASON1_PATH``, passed in by the caller,
    or the one an adapter was trained on), else the hub id."""
    if path:
        if not Path(path).is_dir():
            raise FileNotFoundError(f"model {spec.name!r}: local path {path} does not exist")
        return str(path)
    if spec.hub_id:
        return spec.hub_id
    raise FileNotFoundError(f"model {spec.name!r}: no local path given and no hub id")


def load_base(name: str, path: str | os.PathLike | None = None, dtype: str = "float32", device: str = "cpu",
              attn_implementation: str | None = None):
    """Return ``(model, processor)`` for a registered base model.

    ``tiny``: loads a saved copy from ``path`` if given (the adapter bundles the exact base), else builds
    it. Others: ``from_pretrained`` on the local path / hub id with ``dtype`` (bf16 on GPU).
    """
    import torch
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    spec = get_spec(name)
    torch_dtype = getattr(torch, dtype)
    if spec.tiny is not None and not path:
        processor = build_tiny_processor(spec)
        model = build_tiny_model(spec, processor.tokenizer).to(torch_dtype)
    else:
        where = resolve_path(spec, path)
        if Path(where).is_dir():
            from football_assets.core.training.architectures import check_weights

            check_weights(name, where)  # 7B weights under the tiny spec (or the reverse) fail here, clearly
        kwargs = {"dtype": torch_dtype}
        if attn_implementation:
            kwargs["attn_implementation"] = attn_implementation
        model = Qwen2_5_VLForConditionalGeneration.from_pretrained(where, **kwargs)
        processor = AutoProcessor.from_pretrained(where)
        if getattr(processor, "chat_template", None) is None:
            processor.chat_template = CHAT_TEMPLATE
        from football_assets.core.training.video_inputs import CAP_PIXELS_PER_FRAME

        processor.video_processor.cap_pixels_per_frame = CAP_PIXELS_PER_FRAME  # explicit, whatever the saved config says
    return model.to(device), processor


def save_base(model, processor, dest: str | os.PathLike) -> None:
    """Save a (tiny) base next to an adapter so inference loads exactly the weights it was trained on."""
    model.save_pretrained(dest)
    processor.save_pretrained(dest)


@contextlib.contextmanager
def quiet_peft():
    """Around peft's model wrapping (``get_peft_model``, ``PeftModel.from_pretrained``): peft 0.21 reads
    transformers 5's deprecated alias ``is_gradient_checkpointing``, which warns on every call. A warnings filter
    around the call did not hold: ``catch_warnings`` is not thread-safe, and in ``football-events run`` Dagster's own
    catch_warnings blocks in the console's polling thread restored the filters mid-call. So the alias answers with
    the value it would return anyway (``is_activation_checkpointing``) without the warning, once per process."""
    from transformers import PreTrainedModel

    if not getattr(PreTrainedModel, "_alias_without_warning", False):
        PreTrainedModel.is_gradient_checkpointing = property(lambda self: self.is_activation_checkpointing)
        PreTrainedModel._alias_without_warning = True
    yield


def lora_config(r: int = 16, alpha: int = 32, dropout: float = 0.05, target_modules: str | list[str] | None = None,
                modules_to_save: list[str] | tuple[str, ...] = ()):
    """peft LoRA on the language model's linear layers (full-path regex), vision tower untouched."""
    from peft import LoraConfig

    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, bias="none", task_type="CAUSAL_LM",
                      target_modules=target_modules or LM_LINEAR_REGEX,
                      modules_to_save=list(modules_to_save) or None)


def describe(model) -> dict:
    """Parameter counts: total, trainable, and of the vision tower (must stay frozen except extras)."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"params_total": total, "params_trainable": trainable}
