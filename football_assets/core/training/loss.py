"""The training loss with the LM head computed only where the loss reads it: the answer positions.

Labels mask the prompt (system, instruction and ~3.5 k video tokens at 7B), so of a sample's ~3.9 k
positions only the ~100 that predict an answer token enter the loss, yet the model's own loss computes
the 152,064-wide logits at every position (and keeps their fp32 copies for backward). Passing a boolean
``logits_to_keep`` mask to ``Qwen2_5_VLForConditionalGeneration`` applies ``lm_head`` to those positions
only (flattened, row by row, so right-padded batches of different answer lengths work), and
``answer_loss`` is the same token-summed cross-entropy the model computes, divided the same way.
"""

from __future__ import annotations

from transformers import Trainer

IGNORE = -100


def answer_positions(labels):
    """``(batch, seq)`` bool: positions whose logits predict a labelled (answer) token, i.e. the next label."""
    import torch

    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE
    return keep


def answer_loss(outputs, labels, num_items_in_batch=None):
    """Cross-entropy of the kept logits ``(n, vocab)`` against the labels they predict, summed and divided by
    ``num_items_in_batch`` (the Trainer's count over all accumulated batches) or else by ``n``: the model's
    causal-LM loss, computed on the answer positions only."""
    import torch.nn.functional as F

    shifted = labels[:, 1:]
    targets = shifted[shifted != IGNORE]
    logits = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
    if logits.dim() != 2 or logits.shape[0] != targets.numel():
        raise ValueError(f"answer_loss needs the logits of the {targets.numel()} answer positions only "
                         f"(logits_to_keep=answer_positions(labels)), got logits of shape {tuple(logits.shape)}")
    loss = F.cross_entropy(logits.float(), targets.to(logits.device), reduction="sum")
    return loss / (num_items_in_batch if num_items_in_batch is not None else targets.numel())


class AnswerLossTrainer(Trainer):
    """``Trainer`` whose forward computes logits at the answer positions only (``answer_loss``); the Trainer's
    own bookkeeping (token counts across accumulation and devices) applies as to any ``compute_loss_func``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, compute_loss_func=answer_loss, **kwargs)

    def compute_loss(self, model, inputs, *args, **kwargs):
        return super().compute_loss(model, {**inputs, "logits_to_keep": answer_positions(inputs["labels"])}, *args, **kwargs)
