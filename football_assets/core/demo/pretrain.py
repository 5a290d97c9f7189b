"""Brief vision pretraining of the tiny demo base: a stand-in for a pretrained VLM's vision tower.

A randomly initialised vision tower gives the language model nothing to read, and LoRA on the language
model cannot fix that. Before LoRA, the tiny base's vision tower (patch embed, blocks, merger) is trained
for a few steps on the TRAIN split only with a throw-away linear probe: for every temporal patch
(0.5 s at 4 fps) predict which event classes are active then (multi-label). The probe is dropped; the
pretrained base is what the adapter is trained on and is bundled with it. Cosmos-Reason1 never goes
through this (its vision tower is pretrained and stays frozen).
"""

from __future__ import annotations

import random

from football_assets.core.events import EVENT_CLASSES


def _time_labels(events: list[dict], n_groups: int, seconds_per_group: float):
    import torch

    y = torch.zeros(n_groups, len(EVENT_CLASSES))
    for e in events:
        c = EVENT_CLASSES.index(e["event"])
        for g in range(n_groups):
            lo, hi = g * seconds_per_group, (g + 1) * seconds_per_group
            if min(hi, e["end_time"]) - max(lo, e["start_time"]) > 0.5 * seconds_per_group:
                y[g, c] = 1.0
    return y


def pretrain_vision(model, samples: list[dict], cache, steps: int = 150, lr: float = 3e-3, batch: int = 4,
                    seed: int = 0, log=None) -> list[float]:
    """Train ``model.model.visual`` on per-time-step event presence; returns the loss per step."""
    import torch

    clips = {}
    for s in samples:
        if s.get("task") == "events":
            clips[s["video"]] = (s.get("fps", 4), s["target"])
    if not clips:
        return []
    visual = model.model.visual
    merge = visual.spatial_merge_size ** 2
    probe = torch.nn.Linear(model.config.text_config.hidden_size, len(EVENT_CLASSES))
    params = [p for p in visual.parameters()] + list(probe.parameters())
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    rng = random.Random(seed)
    items = list(clips.items())
    losses = []
    visual.train()
    for step in range(steps):
        chosen = rng.sample(items, min(batch, len(items)))
        xs, ys = [], []
        for path, (fps, target) in chosen:
            v = cache.get(path, fps)
            t, h, w = v["video_grid_thw"][0].tolist()
            feats = visual(v["pixel_values_videos"], grid_thw=v["video_grid_thw"]).pooler_output
            xs.append(feats.view(t, (h * w) // merge, -1).mean(1))
            ys.append(_time_labels(target, t, v["second_per_grid_ts"][0]))
        logits = probe(torch.cat(xs))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.cat(ys))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if log and (step % 25 == 0 or step == steps - 1):
            log(f"demo vision pretraining step {step + 1}/{steps}: loss {losses[-1]:.4f}")
    visual.eval()
    for p in params:
        p.requires_grad_(False)
    return losses
