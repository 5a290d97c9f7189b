"""A small byte-level BPE tokenizer for the tiny demo model, built locally (no download); it lives with the
demo because it is fitted on the demo's own prompts and answers.

Byte-level BPE can encode and decode any text exactly (unseen numbers and names included), so the
JSON answers round-trip; training it on the project's own prompts and demo answers keeps the
vocabulary (and the tiny model's embedding table) small while common words stay single tokens.
The Qwen2.5-VL special tokens are added with the ids order Qwen uses, so the same chat template and
processor code serve the tiny model and Cosmos-Reason1.
"""

from __future__ import annotations

from typing import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from football_assets.core import prompts
from football_assets.core.demo.generator import plan_clips
from football_assets.core.events import EVENT_CLASSES

PAD, EOS = "<|endoftext|>", "<|im_end|>"
SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]


def corpus(n_clips: int = 400, seed: int = 12345) -> list[str]:
    """Texts the tokenizer is fitted on: every prompt plus answers for many synthetic clips.

    The seed differs from the demo's so no demo test answer is in it verbatim (it only sets merges).
    """
    texts = [prompts.SYSTEM_PROMPT, prompts.EVENTS_INSTRUCTION, prompts.REASONING_SUFFIX,
             "system\nuser\nassistant\n"]
    for cls in EVENT_CLASSES:
        texts += [prompts.grounding_question(cls), prompts.does_not_occur_answer(cls)]
    for clip in plan_clips(n_clips, seed):
        texts.append(prompts.format_events(clip.events))
        texts.append(prompts.format_events(clip.events, reasoning=True))
        for ev in clip.events:
            texts.append(prompts.format_grounding(ev.event, (ev.start_time, ev.end_time)))
    texts += [f"{t / 10:.1f}" for t in range(0, 1200)]  # every time with one decimal
    return texts


def build_tokenizer(vocab_size: int = 1024, texts: Iterable[str] | None = None):
    """Train the BPE and wrap it as a transformers fast tokenizer with Qwen's special tokens."""
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts if texts is not None else corpus()), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=PAD,
                                   additional_special_tokens=SPECIAL_TOKENS[1:], model_max_length=32768)
