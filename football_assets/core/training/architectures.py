"""The published architecture sizes of the models the project trains (no weights), and the check that a
weights directory is the architecture its model name says: shared by the base-model loader (``model.py``)
and the preflight memory plan (``preflight.py``)."""

from __future__ import annotations

import json
from pathlib import Path


class WeightsMismatchError(ValueError):
    """A weights directory that is not the chosen model's architecture; the message names each difference."""


#: Qwen2.5-VL-7B sizes (Cosmos-Reason1-7B is a Qwen2.5-VL-7B post-train), from its published config.
QWEN25_VL_7B = {
    "text": {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
             "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 128000,
             "mrope_section": [16, 24, 24], "rope_theta": 1000000.0},
    "vision": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16, "out_hidden_size": 3584,
               "patch_size": 14, "temporal_patch_size": 2, "spatial_merge_size": 2, "window_size": 112,
               "fullatt_block_indexes": [7, 15, 23, 31], "tokens_per_second": 2},
    "token_ids": {"image_token_id": 151655, "video_token_id": 151656, "vision_start_token_id": 151652,
                  "vision_end_token_id": 151653},
}

ARCHITECTURES = {"cosmos-reason1-7b": QWEN25_VL_7B}


def qwen25vl_config(arch: dict):
    """A ``Qwen2_5_VLConfig`` from published sizes (no download)."""
    from transformers import Qwen2_5_VLConfig

    text = {k: v for k, v in arch["text"].items() if k not in ("mrope_section", "rope_theta")}
    return Qwen2_5_VLConfig(
        text_config=dict(**text, tie_word_embeddings=False,
                         rope_parameters={"rope_type": "default", "rope_theta": arch["text"]["rope_theta"],
                                          "mrope_section": arch["text"]["mrope_section"]}),
        vision_config=dict(**arch["vision"], in_channels=3), tie_word_embeddings=False, **arch["token_ids"])


def check_weights(name: str, path: str | Path) -> None:
    """Refuse a weights directory whose config is not the chosen model's architecture (before loading it)."""
    arch = ARCHITECTURES.get(name)
    cfg_path = Path(path) / "config.json"
    if arch is None:
        return
    if not cfg_path.exists():
        raise WeightsMismatchError(f"model {name!r}: {path} has no config.json (not a Hugging Face model directory)")
    c = json.loads(cfg_path.read_text())
    text, vision = c.get("text_config") or c, c.get("vision_config") or {}
    want = [("model_type", c.get("model_type"), "qwen2_5_vl")]
    want += [(f"text {k}", text.get(k), arch["text"][k]) for k in ("hidden_size", "num_hidden_layers", "vocab_size")]
    want += [(f"vision {k}", vision.get(k), arch["vision"][k]) for k in ("depth", "hidden_size")]
    bad = [f"{what} {got} (expected {exp})" for what, got, exp in want if got != exp]
    if bad:
        raise WeightsMismatchError(f"model {name!r}: the weights in {path} are not its architecture: {', '.join(bad)}")
