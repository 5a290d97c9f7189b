"""The Qwen2.5-VL tokenizer built offline: published ids, the published chat template, and the same
encodings as tiktoken (an independent implementation) on the project's own texts."""

import pytest
import tiktoken  # installed with dashscope, which ships the vocabulary

from football_assets.core import prompts
from football_assets.core.events import EVENT_CLASSES
from football_assets.core.training.tokenizer import (
    ADDED_TOKEN_IDS,
    BPE_TOKENS,
    VocabularyMissingError,
    build_qwen_processor,
    build_qwen_tokenizer,
    load_ranks,
    vocab_path,
)

QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


@pytest.fixture(scope="module")
def tok():
    return build_qwen_tokenizer()


def test_known_ids(tok):
    assert tok("Hello world")["input_ids"] == [9707, 1879]
    assert tok("<|im_start|>user\n")["input_ids"] == [151644, 872, 198]
    assert len(tok) == 151_665
    published = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645, "<|vision_start|>": 151652,
                 "<|vision_end|>": 151653, "<|image_pad|>": 151655, "<|video_pad|>": 151656, "<tool_call>": 151657,
                 "<|file_sep|>": 151664}
    assert {t: tok.convert_tokens_to_ids(t) for t in published} == published
    assert len(ADDED_TOKEN_IDS) == 22 and sorted(ADDED_TOKEN_IDS.values()) == list(range(151643, 151665))
    for token, i in ADDED_TOKEN_IDS.items():
        assert tok(token, add_special_tokens=False)["input_ids"] == [i], token
    assert (tok.eos_token, tok.pad_token, tok.bos_token, tok.unk_token) == ("<|im_end|>", "<|endoftext|>", None, None)
    assert tok.tokenize("12.5") == ["1", "2", ".", "5"]  # digits one by one
    assert tok("e\u0301")["input_ids"] == tok("\u00e9")["input_ids"]  # NFC normaliser


def test_same_encoding_as_tiktoken_on_project_texts(tok):
    enc = tiktoken.Encoding("qwen", pat_str=QWEN2_PATTERN, mergeable_ranks=load_ranks(vocab_path()), special_tokens={})
    events = [{"event": c, "start_time": 0.4 + i, "end_time": 12.35 + i, "description": f"Player {i} acts. Ünïcödé 日本 🙂"}
              for i, c in enumerate(EVENT_CLASSES)]
    texts = [prompts.SYSTEM_PROMPT, prompts.events_instruction(reasoning=True), prompts.format_events(events),
             prompts.format_events(events, reasoning=True), "don't  I'LL \t\n\n  we've 3.14159 x"]
    texts += [prompts.grounding_question(c) for c in EVENT_CLASSES]
    for text in texts:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert ids == enc.encode(text), text
        assert tok.decode(ids) == text


def test_chat_template_renders_the_published_qwen25vl_string():
    processor = build_qwen_processor(min_pixels=84 * 112, max_pixels=12000)
    conversation = [
        {"role": "system", "content": "You are a referee."},
        {"role": "user", "content": [{"type": "video", "video": "clip.mp4"}, {"type": "text", "text": "What happens?"}]},
        {"role": "assistant", "content": "A goal."},
    ]
    assert processor.apply_chat_template(conversation, tokenize=False) == (
        "<|im_start|>system\nYou are a referee.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>What happens?<|im_end|>\n"
        "<|im_start|>assistant\nA goal.<|im_end|>\n"
    )
    # no system turn: the default one; add_vision_id labels the media; the generation prompt opens a turn
    user_only = [{"role": "user", "content": [{"type": "image"}, {"type": "video"}, {"type": "text", "text": "Hi"}]}]
    assert processor.apply_chat_template(user_only, tokenize=False, add_generation_prompt=True, add_vision_id=True) == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nPicture 1: <|vision_start|><|image_pad|><|vision_end|>"
        "Video 1: <|vision_start|><|video_pad|><|vision_end|>Hi<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert processor.video_token_id == 151656 and processor.image_token_id == 151655
    assert processor.video_processor.cap_pixels_per_frame is True


def test_bad_vocabulary_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "qwen.tiktoken"
    bad.write_bytes(b"IQ== 0\nnot-base64!! 1\n")
    with pytest.raises(VocabularyMissingError, match=r"qwen.tiktoken: line 2 is not 'base64 rank'"):
        load_ranks(bad)
    bad.write_bytes(b"IQ== 0\nIg== 1\n")
    with pytest.raises(VocabularyMissingError, match=rf"expected ranks 0..{BPE_TOKENS - 1}, got 2 tokens"):
        load_ranks(bad)
