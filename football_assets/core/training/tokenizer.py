"""The Qwen2.5-VL tokenizer and processor, assembled offline from published parts.

The byte-pair vocabulary is the one Qwen2 / Qwen2.5 / Qwen2.5-VL share: 151,643 ranked byte strings in
tiktoken format, shipped inside the ``dashscope`` package (Apache-2.0) as ``resources/qwen.tiktoken``. We
read that file without importing ``dashscope`` (its import pulls in a web client), derive the BPE merges
from the ranks, and hand vocabulary and merges to transformers' ``Qwen2Tokenizer``, which adds Qwen2's
pre-tokenizer (digits split one by one, so times like 12.5 are "1","2",".","5") and NFC normaliser. The 22
special tokens take the published ids 151643-151664 and the chat template is the published Qwen2.5-VL
one, so the tiny model, the tests and the 7B rehearsal tokenise exactly as Qwen2.5-VL / Cosmos-Reason1 do.
The model's embedding has ``MODEL_VOCAB_ROWS`` rows (the published padding of the 151,665 tokens).
"""

from __future__ import annotations

import base64
import importlib.util
from functools import lru_cache
from pathlib import Path

VOCAB_PACKAGE = "dashscope"
VOCAB_FILE = ("resources", "qwen.tiktoken")
#: ranked byte strings in the vocabulary file; the special tokens follow them
BPE_TOKENS = 151_643
#: rows of Qwen2.5-VL's embedding and LM head (7B and 3B): the 151,665 tokens padded up
MODEL_VOCAB_ROWS = 152_064

PAD, EOS = "<|endoftext|>", "<|im_end|>"
#: the published added tokens, in id order from ``BPE_TOKENS``; the last eight are not "special" (they
#: stay in decoded text), as in the published tokenizer
SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)
PLAIN_ADDED_TOKENS = (
    "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>",
)
ADDED_TOKEN_IDS = {tok: BPE_TOKENS + i for i, tok in enumerate(SPECIAL_TOKENS + PLAIN_ADDED_TOKENS)}

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."

#: The published Qwen2.5-VL chat template (``chat_template.json`` of the Qwen2.5-VL-Instruct models):
#: a default system turn when the conversation has none, media parts as ``<|vision_start|>`` + pad +
#: ``<|vision_end|>``, and "Picture n: " / "Video n: " labels when rendered with ``add_vision_id=True``.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n" + DEFAULT_SYSTEM_PROMPT
    + "<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class VocabularyMissingError(FileNotFoundError):
    """The packaged Qwen vocabulary file cannot be found or read."""


def vocab_path() -> Path:
    """Where the installed ``dashscope`` package keeps ``qwen.tiktoken`` (found without importing it)."""
    spec = importlib.util.find_spec(VOCAB_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise VocabularyMissingError(f"the Qwen vocabulary comes from the {VOCAB_PACKAGE!r} package, which is not "
                                     f"installed (pip install {VOCAB_PACKAGE})")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*VOCAB_FILE)
    if not path.is_file():
        raise VocabularyMissingError(f"{path}: the {VOCAB_PACKAGE!r} package has no Qwen vocabulary file")
    return path


def load_ranks(path: str | Path) -> dict[bytes, int]:
    """``{token bytes: rank}`` from a tiktoken file (one ``base64 rank`` pair a line)."""
    ranks: dict[bytes, int] = {}
    for n, line in enumerate(Path(path).read_bytes().splitlines(), 1):
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except ValueError as err:
            raise VocabularyMissingError(f"{path}: line {n} is not 'base64 rank' ({err})") from None
    if len(ranks) != BPE_TOKENS or sorted(ranks.values()) != list(range(BPE_TOKENS)):
        raise VocabularyMissingError(f"{path}: expected ranks 0..{BPE_TOKENS - 1}, got {len(ranks)} tokens")
    return ranks


def bpe_merges(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """One merge per multi-byte token, in rank order: the two parts byte-pair encoding arrives at when it
    may use only lower-ranked tokens (the pair that created the token when the vocabulary was trained)."""
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) == 1:
            continue
        parts = [token[i:i + 1] for i in range(len(token))]
        while len(parts) > 2:
            best_rank, best = rank, -1
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < best_rank:
                    best_rank, best = r, i
            if best < 0:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        if len(parts) != 2:
            raise VocabularyMissingError(f"token of rank {rank} cannot be built from lower-ranked tokens")
        merges.append((parts[0], parts[1]))
    return merges


@lru_cache(maxsize=1)
def build_qwen_tokenizer():
    """The Qwen2.5-VL fast tokenizer (151,665 tokens), built once per process (a few seconds); callers
    share the instance, so don't change its settings."""
    from tokenizers import AddedToken
    from transformers.convert_slow_tokenizer import bytes_to_unicode
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

    ranks = load_ranks(vocab_path())
    byte_char = bytes_to_unicode()

    def text(b: bytes) -> str:
        return "".join(byte_char[x] for x in b)

    vocab = {text(t): r for t, r in ranks.items()} | ADDED_TOKEN_IDS  # added tokens keep the published ids
    merges = [(text(a), text(b)) for a, b in bpe_merges(ranks)]
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None, eos_token=EOS, pad_token=PAD,
                         additional_special_tokens=list(SPECIAL_TOKENS[1:]), errors="replace",
                         clean_up_tokenization_spaces=False, split_special_tokens=False, model_max_length=131072)
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS], special_tokens=True)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in PLAIN_ADDED_TOKENS])
    tok.chat_template = CHAT_TEMPLATE
    wrong = {t: tok.convert_tokens_to_ids(t) for t, i in ADDED_TOKEN_IDS.items() if tok.convert_tokens_to_ids(t) != i}
    if wrong or len(tok) != len(ADDED_TOKEN_IDS) + BPE_TOKENS:
        raise RuntimeError(f"Qwen tokenizer built with wrong added-token ids {wrong} or size {len(tok)}")
    return tok


def build_qwen_processor(*, min_pixels: int, max_pixels: int, patch_size: int = 14, temporal_patch_size: int = 2,
                         merge_size: int = 2):
    """A ``Qwen2_5_VLProcessor`` around ``build_qwen_tokenizer()`` with the published chat template and
    image/video processors of the given geometry and pixel budget (per-frame cap: ``video_inputs``')."""
    from transformers import Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    from football_assets.core.training.video_inputs import CAP_PIXELS_PER_FRAME

    common = dict(patch_size=patch_size, temporal_patch_size=temporal_patch_size, merge_size=merge_size,
                  size={"shortest_edge": min_pixels, "longest_edge": max_pixels})
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**common),
        video_processor=Qwen2VLVideoProcessor(**common, do_sample_frames=False, cap_pixels_per_frame=CAP_PIXELS_PER_FRAME),
        tokenizer=build_qwen_tokenizer(),
        chat_template=CHAT_TEMPLATE,
    )
