"""Preflight: will this training run fit, and will its adapter serve? Answered on CPU, without weights.

The full-size architecture is built on the meta device (shapes only, no memory) from the published sizes
(``ARCHITECTURES``), the project's own LoRA selection is applied to it with peft, and the run's video
budget gives the tokens per sample. From those shapes it reports trainable and frozen parameters per
tower and a per-device memory plan; it refuses a plan over the profile's memory budget, LoRA in the vision
tower, and ``modules_to_save`` on an adapter meant for vLLM. It runs as ``football-events train --dry-run``
and as the first step of the ``lora_adapter`` asset, so a run that cannot fit fails in seconds.

Memory model (bytes per device; B = batch per device, T = tokens per sample; w = 2 for activations under bf16
(weights or autocast), 4 in fp32; weights and their gradients take their ``dtype``'s width):

* frozen weights: frozen params x their width;
* LoRA: trainable params x (working copy in the weights' width + 16 for fp32 grads, master weights and Adam m, v), the 16
  divided over the processes under ZeRO-2;
* activations with gradient checkpointing: each layer's input (L x B x T x hidden x w) plus one layer
  recomputed in backward (q, k, v, o, norms, the MLP's gate/up/act/product: B x T x (6 hidden + 2 kv +
  4 intermediate) x w); without checkpointing every layer's;
* logits: B x A x vocab x (w + 4 + 4), A = ``ANSWER_TOKENS``: the lm_head output, its fp32 upcast in the
  loss and the saved fp32 log-softmax, at the answer positions only (``loss.AnswerLossTrainer``; computed
  for all T positions it was 11.95 of the 40.7 GB planned for the 7B on a100-80gb);
* vision tower forward, frozen and outside autograd: B x patches x (3 hidden + 2 intermediate) x w transient,
  plus the pixel input;
* DeepSpeed buckets (reduce + allgather bucket sizes from its config) x w, CUDA context 1 GB, and 10 %
  allocator fragmentation on top.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from football_assets.core.training.architectures import ARCHITECTURES, qwen25vl_config
from football_assets.core.training.model import get_spec

CLIP_HEIGHT, CLIP_WIDTH = 480, 720  # clips_4fps frames
ANSWER_TOKENS = 256  # allowance for the assistant answer (an events JSON of a few events)
CUDA_CONTEXT_GB = 1.0
FRAGMENTATION = 0.10
GB = 1e9


class PreflightError(ValueError):
    """A run that cannot fit or cannot be served; the message names the budget or the rule and the numbers."""


@dataclass
class Plan:
    model: str
    profile: str
    processes: int
    params: dict = field(default_factory=dict)  # per tower: trainable / frozen
    lora: dict = field(default_factory=dict)  # modules, layers targeted, in vision tower
    tokens: dict = field(default_factory=dict)  # per sample
    memory_gb: dict = field(default_factory=dict)  # per device, by item
    host_gb: dict = field(default_factory=dict)  # per process, video cache
    budget_gb: float | None = None
    problems: list = field(default_factory=list)

    @property
    def total_gb(self) -> float:
        return self.memory_gb.get("total", 0.0)

    def to_dict(self) -> dict:
        return asdict(self)


def meta_model(name: str):
    """The model's full-size architecture on the meta device (no weights allocated)."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    spec = get_spec(name)
    if name in ARCHITECTURES:
        config = qwen25vl_config(ARCHITECTURES[name])
        with torch.device("meta"):
            return Qwen2_5_VLForConditionalGeneration(config)
    if spec.tiny is not None:  # tiny: the real config (its vocab comes from the local tokenizer)
        from football_assets.core.training.model import build_tiny_model, build_tiny_processor

        processor = build_tiny_processor(spec)
        return build_tiny_model(spec, processor.tokenizer).to("meta")
    raise PreflightError(f"model {name!r}: no published sizes to build it from")


def apply_lora(model, values: dict):
    """The trainer's own LoRA selection (``model.lora_config``) on a meta model, everything else frozen."""
    import torch
    from peft import get_peft_model

    from football_assets.core.training.model import lora_config, quiet_peft

    for p in model.parameters():
        p.requires_grad_(False)
    cfg = lora_config(values["lora_r"], values["lora_alpha"], values["lora_dropout"], values["target_modules"],
                      values["modules_to_save"] or [])
    with torch.device("meta"):
        with quiet_peft():
            return get_peft_model(model, cfg)


def count_params(peft_model) -> dict:
    """Trainable / frozen parameters per tower (vision, language model, lm_head), LoRA included."""
    towers = {"vision": 0, "language_model": 0, "lm_head": 0}
    out = {f"{t}_{k}": 0 for t in towers for k in ("trainable", "frozen")}
    for n, p in peft_model.named_parameters():
        tower = "vision" if ".visual." in n else "lm_head" if "lm_head" in n else "language_model"
        out[f"{tower}_{'trainable' if p.requires_grad else 'frozen'}"] += p.numel()
    out["trainable"] = sum(v for k, v in out.items() if k.endswith("_trainable"))
    out["frozen"] = sum(v for k, v in out.items() if k.endswith("_frozen"))
    out["lora"] = sum(p.numel() for n, p in peft_model.named_parameters() if "lora_" in n)
    return out


def lora_layout(peft_model) -> dict:
    import re

    names = [n for n, m in peft_model.named_modules() if hasattr(m, "lora_A") and len(getattr(m, "lora_A", {}))]
    layers = sorted({int(m.group(1)) for n in names if (m := re.search(r"language_model\.layers\.(\d+)\.", n))})
    return {"modules": len(names), "language_model_layers": layers, "in_vision_tower": [n for n in names if ".visual." in n]}


def video_tokens(model_config, max_frames: int, min_pixels: int, max_pixels: int) -> dict:
    """Frame size after resizing a 720x480 clip to the pixel budget, and the merged video tokens per clip."""
    from football_assets.core.training.video_inputs import VideoBudget, frame_size

    v = model_config.vision_config
    factor = v.patch_size * v.spatial_merge_size
    frames = max(v.temporal_patch_size, max_frames - max_frames % v.temporal_patch_size)
    h, w = frame_size(CLIP_HEIGHT, CLIP_WIDTH, VideoBudget(max_frames, min_pixels, max_pixels), factor, frames,
                      v.temporal_patch_size)
    patches = (frames // v.temporal_patch_size) * (h // v.patch_size) * (w // v.patch_size)
    merged = patches // v.spatial_merge_size ** 2
    pixel_dim = 3 * v.temporal_patch_size * v.patch_size ** 2
    return {"frames": frames, "height": h, "width": w, "patches": patches, "video": merged, "pixel_dim": pixel_dim}


def text_tokens() -> int:
    """Prompt text (system + events instruction + chat template) at ~3 characters a token, plus the answer."""
    from football_assets.core import prompts

    return math.ceil((len(prompts.SYSTEM_PROMPT) + len(prompts.EVENTS_INSTRUCTION)) / 3) + 32 + ANSWER_TOKENS


def deepspeed_bucket_elements(path: str | None) -> float:
    if not path:
        return 0.0
    z = json.loads(Path(path).read_text()).get("zero_optimization", {})
    return float(z.get("reduce_bucket_size", 5e8)) + float(z.get("allgather_bucket_size", 5e8))


def plan(values: dict, profile: str, processes: int = 1, budget_gb: float | None = None) -> Plan:
    """The memory plan for resolved training ``values`` (``train_args.resolve``: every setting) on ``profile``."""
    model = meta_model(values["model"])
    config = model.config
    peft_model = apply_lora(model, values)
    params = count_params(peft_model)
    lora = lora_layout(peft_model)
    tok = video_tokens(config, values["max_frames"], values["min_pixels"], values["max_pixels"])
    text = text_tokens()
    T = tok["video"] + text
    B = int(values["per_device_train_batch_size"])
    wb = 2 if values.get("dtype") == "bfloat16" else 4  # weights (and their gradients)
    w = 2 if values.get("bf16") or wb == 2 else 4  # activations and logits: bf16 under autocast
    tc, vc = config.text_config, config.vision_config
    H, I, L, V = tc.hidden_size, tc.intermediate_size, tc.num_hidden_layers, tc.vocab_size
    kv = tc.num_key_value_heads * (H // tc.num_attention_heads)
    zero = bool(values.get("deepspeed"))
    shard = processes if zero else 1
    per_layer = B * T * (6 * H + 2 * kv + 4 * I) * w
    layer_inputs = L * B * T * H * w
    ckpt = bool(values.get("gradient_checkpointing"))
    mem = {
        "frozen_weights": params["frozen"] * wb,
        "lora_and_optimizer": params["trainable"] * (wb + 16 / shard),
        "activations": layer_inputs + per_layer if ckpt else L * per_layer,
        "logits": B * min(ANSWER_TOKENS, T) * V * (w + 4 + 4),
        "vision_forward": B * tok["patches"] * (3 * vc.hidden_size + 2 * vc.intermediate_size + tok["pixel_dim"]) * w,
        "deepspeed_buckets": deepspeed_bucket_elements(values.get("deepspeed")) * wb,
        "cuda_context": CUDA_CONTEXT_GB * GB if budget_gb else 0.0,
    }
    sub = sum(mem.values())
    mem["fragmentation"] = FRAGMENTATION * sub
    mem["total"] = sub + mem["fragmentation"]
    clip_bytes = tok["patches"] * tok["pixel_dim"] * 4  # fp32 pixel values, as the processor returns them
    cache_mb = values["video_cache_mb"]
    host = {"video_clip_mb": clip_bytes / 2**20, "video_cache_budget_mb": cache_mb,
            "clips_in_memory": int(cache_mb * 2**20 // clip_bytes) if clip_bytes else 0}
    result = Plan(model=values["model"], profile=profile, processes=processes, params=params, lora=lora,
                  tokens={**tok, "text": text, "per_sample": T, "batch": B},
                  memory_gb={k: round(v / GB, 2) for k, v in mem.items()}, host_gb=host, budget_gb=budget_gb)
    if lora["in_vision_tower"]:
        result.problems.append(f"LoRA targets the vision tower ({lora['in_vision_tower'][0]} ...): the vision tower "
                               "stays frozen; name language-model paths in target_modules")
    if values.get("serve_with_vllm") and values.get("modules_to_save"):
        result.problems.append(f"the adapter is meant for vLLM (serve_with_vllm), but modules_to_save "
                               f"{values['modules_to_save']} trains full modules vLLM cannot load on its base")
    if budget_gb is not None and result.total_gb > budget_gb:
        big = sorted(((k, v) for k, v in result.memory_gb.items() if k not in ("total",)), key=lambda kv: -kv[1])[:3]
        result.problems.append(
            f"needs {result.total_gb:.1f} GB per GPU, over the {profile} budget of {budget_gb:.0f} GB "
            f"(largest: {', '.join(f'{k} {v:.1f} GB' for k, v in big)}; {tok['frames']} frames of "
            f"{tok['height']}x{tok['width']} = {T} tokens/sample x batch {B}): lower max_frames, max_pixels or "
            "per_device_train_batch_size")
    return result


def check(p: Plan) -> Plan:
    """Raise ``PreflightError`` naming every problem of the plan; return it otherwise."""
    if p.problems:
        raise PreflightError(f"preflight refused {p.model} on profile {p.profile}: " + "; ".join(p.problems))
    return p


def format_plan(p: Plan) -> str:
    """The plan as the text ``train --dry-run`` prints and the README quotes."""
    pr, t, m = p.params, p.tokens, p.memory_gb
    lines = [f"preflight: {p.model} on profile {p.profile}, {p.processes} process(es)",
             f"parameters: trainable {pr['trainable']:,} (LoRA {pr['lora']:,}), frozen {pr['frozen']:,}"]
    for tower in ("vision", "language_model", "lm_head"):
        lines.append(f"  {tower:15s} trainable {pr[f'{tower}_trainable']:>13,}  frozen {pr[f'{tower}_frozen']:>13,}")
    lines.append(f"LoRA: {p.lora['modules']} modules in language-model layers "
                 f"{_ranges(p.lora['language_model_layers'])}, {len(p.lora['in_vision_tower'])} in the vision tower")
    lines.append(f"video: {t['frames']} frames of {t['height']}x{t['width']} -> {t['video']} tokens; + ~{t['text']} text "
                 f"= {t['per_sample']} tokens/sample, batch {t['batch']}")
    lines.append("memory per device (GB): " + ", ".join(f"{k} {v:.2f}" for k, v in m.items() if k != "total"))
    lines.append(f"  total {m['total']:.1f} GB" + (f" of {p.budget_gb:.0f} GB" if p.budget_gb else " (no GPU budget to check)"))
    h = p.host_gb
    lines.append(f"host: {h['video_clip_mb']:.1f} MB per clip in the video cache, budget {h['video_cache_budget_mb']} MB "
                 f"-> {h['clips_in_memory']} clips in memory per process, the rest read from its disk cache")
    lines.append("verdict: " + ("REFUSED: " + "; ".join(p.problems) if p.problems else "fits"))
    return "\n".join(lines)


def _ranges(xs: list[int]) -> str:
    return f"{xs[0]}-{xs[-1]} ({len(xs)})" if xs and xs == list(range(xs[0], xs[-1] + 1)) else str(xs)
