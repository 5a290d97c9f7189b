"""Run a (LoRA-adapted) base model on one clip: the prompt and video handling are the training ones.

``EventPredictor(base, adapter_dir)`` loads the base (for ``tiny``: the exact base bundled in the adapter
under ``base/``) on this machine's device and dtype (cuda + bf16 where a GPU is visible, else cpu + fp32,
unless given), applies the peft adapter, and greedily decodes at the video budget it was trained with an answer to the shared events
instruction. ``predict_events`` parses it with ``prompts.parse_events`` (an unparseable answer gives []) and
gives every event a confidence from the token probabilities of that same decode (``confidence.py``),
calibrated by the adapter's ``calibration.json`` when the evaluation has fitted one on val.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

from football_assets.core import prompts
from football_assets.core.inference import calibration as calib
from football_assets.core.inference import confidence, constrained
from football_assets.core.training.model import get_spec, load_base
from football_assets.core.training.train_args import model_budget
from football_assets.core.training.video_inputs import VideoBudget, VideoCache, build_prompt_inputs


@dataclass(frozen=True)
class Request:
    """One question to a predictor: a clip, its frame rate, the instruction (None: the events one) and the
    answer's token budget."""

    video_path: str | Path
    fps: float = 4.0
    instruction: str | None = None
    max_new_tokens: int = 256


#: answers decoded together by ``EventPredictor.generate_scored_many``: one LM-head read serves the whole batch
#: (on CPU the tiny model's 152k-row head is most of a decode step), at the cost of left padding
BATCH_SIZE = 8


class Predictor(Protocol):
    """What every caller of a video predictor uses (evaluation, ``analyze``, the cascade, ``ask``, the adapter
    check): ``EventPredictor`` is the real one; tests may pass any object with these members."""

    budget: VideoBudget | None  # the video budget it was trained with (sets the window length), None: none

    def predict(self, video_path: str | Path, fps: float = 4.0, max_new_tokens: int = 256) -> dict:
        """``{"events": [{event, start_time, end_time, description, confidence, ...}], "answer_confidence": p}``."""

    def generate_scored(self, video_path: str | Path, fps: float = 4.0, instruction: str | None = None,
                        max_new_tokens: int = 256) -> confidence.ScoredAnswer:
        """The raw answer to ``instruction`` with per-token log probabilities."""

    def generate_scored_many(self, requests: Sequence[Request]) -> list[confidence.ScoredAnswer]:
        """``generate_scored`` of each request, in order (the evaluation's many samples)."""

    def forget(self, video_path: str | Path) -> None:
        """Drop what was cached for ``video_path`` (a window seen once)."""


class AdapterError(ValueError):
    """An adapter directory that is missing, incomplete or made for another base model."""


def read_meta(adapter_dir: str | Path) -> dict:
    d = Path(adapter_dir)
    if not d.is_dir():
        raise AdapterError(f"adapter directory {d} does not exist")
    if not (d / "adapter_config.json").exists():
        raise AdapterError(f"adapter directory {d} has no adapter_config.json (not a peft adapter)")
    meta = d / "train_meta.json"
    return json.loads(meta.read_text()) if meta.exists() else {}


class EventPredictor:
    """Greedy event prediction with a base model and an optional LoRA adapter."""

    def __init__(self, base: str = "tiny", adapter_dir: str | Path | None = None, device: str | None = None,
                 base_path: str | None = None, dtype: str | None = None, budget: VideoBudget | None = None,
                 constrain: bool = True):
        from football_assets.core.training.presets import auto_inference_settings

        get_spec(base)  # an unknown base: the error names the known ones
        device, dtype = auto_inference_settings(device, dtype)  # cuda + bf16 where a GPU is visible
        self.meta = read_meta(adapter_dir) if adapter_dir else {}
        if self.meta.get("base_model") and self.meta["base_model"] != base:
            raise AdapterError(f"adapter {adapter_dir} was trained on base {self.meta['base_model']!r}, not {base!r}")
        bundled = Path(adapter_dir) / "base" if adapter_dir else None
        if base_path is None and bundled is not None and bundled.is_dir():
            base_path = str(bundled)
        model, processor = load_base(base, base_path or self.meta.get("base_path"), dtype=dtype, device=device)
        if adapter_dir:
            from peft import PeftModel

            from football_assets.core.training.model import quiet_peft

            with quiet_peft():
                model = PeftModel.from_pretrained(model, str(adapter_dir))
        self.model = model.eval()
        self.processor, self.device = processor, device
        trained = self.meta.get("video_budget")  # the budget the adapter was trained with (timestamps included)
        self.budget = budget or (VideoBudget(**trained) if trained else model_budget(base))
        self.cache = VideoCache(processor, self.budget, max_bytes=512 * 2**20)
        self.model_version = self.meta.get("model_version") or (f"{base}-base" if not adapter_dir else Path(adapter_dir).name)
        self.adapter_dir = Path(adapter_dir) if adapter_dir else None  # its val-fitted files: calibration, cascade fusion
        self.calibration = calib.load(adapter_dir) if adapter_dir else None
        self.constrain = constrain  # decode against the answer format (``constrained``); False: free decoding

    def inputs(self, video_path: str | Path, fps: float = 4.0, instruction: str | None = None) -> dict:
        """The model inputs of one request: the training prompt and video handling."""
        import torch

        video = self.cache.get(str(video_path), fps)
        messages = prompts.build_messages(str(video_path), instruction or prompts.EVENTS_INSTRUCTION)
        prompt = build_prompt_inputs(self.processor, messages, video)
        ids = prompt["input_ids"][None].to(self.device)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                "mm_token_type_ids": prompt["mm_token_type_ids"][None].to(self.device),
                "pixel_values_videos": video["pixel_values_videos"].to(self.device, self.model.dtype),
                "video_grid_thw": video["video_grid_thw"].to(self.device),
                "second_per_grid_ts": torch.tensor(video["second_per_grid_ts"], device=self.device)}

    def generate_scored(self, video_path: str | Path, fps: float = 4.0, instruction: str | None = None,
                        max_new_tokens: int = 256) -> confidence.ScoredAnswer:
        """The greedy answer with each generated token's log probability, from the logits of that same
        ``generate`` call (``output_logits``). With ``constrain`` (the default) the decode follows the answer
        format the instruction asks for (``constrained.answer_format``; times within the clip), so the answer
        always parses, and the log probabilities are those of the constrained distribution the tokens were
        chosen from (the raw logits renormalised over the allowed tokens; see ``confidence``)."""
        return self._generate([Request(video_path, fps, instruction, max_new_tokens)])[0]

    def generate_scored_many(self, requests: Sequence[Request], batch_size: int = BATCH_SIZE) -> list[confidence.ScoredAnswer]:
        """``generate_scored`` of each request, decoded ``batch_size`` at a time (left-padded prompts, each
        answer with its own constraint and budget)."""
        out: list[confidence.ScoredAnswer] = []
        for i in range(0, len(requests), batch_size):
            out += self._generate(list(requests[i:i + batch_size]))
        return out

    def _generate(self, requests: list[Request]) -> list[confidence.ScoredAnswer]:
        import torch
        from transformers import LogitsProcessorList

        tok = self.processor.tokenizer
        eos = tok.convert_tokens_to_ids("<|im_end|>")
        vocab = self.model.get_output_embeddings().weight.shape[0]
        rows, rules, budgets = [], [], []
        for r in requests:
            rows.append(self.inputs(r.video_path, r.fps, r.instruction))
            fmt = (constrained.answer_format(r.instruction, self.cache.get(str(r.video_path), r.fps).get("duration"))
                   if self.constrain else None)
            rule = constrained.AnswerConstraint(fmt, tok, vocab, r.max_new_tokens, eos) if fmt is not None else None
            rules.append(rule)
            budgets.append(rule.max_new if rule else r.max_new_tokens)
        inputs = left_padded(rows, tok.pad_token_id)
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=max(budgets), do_sample=False,
                                      eos_token_id=eos, pad_token_id=tok.pad_token_id,
                                      logits_processor=LogitsProcessorList([RowConstraints(rules, eos)]),
                                      return_dict_in_generate=True, output_logits=True)
        n_prompt = inputs["input_ids"].shape[1]
        answers = []
        for b, rule in enumerate(rules):
            ids = out.sequences[b, n_prompt:].tolist()[:budgets[b]]  # a longer batch-mate decodes on: its budget
            if eos in ids:
                ids = ids[:ids.index(eos) + 1]
            logprobs = confidence.token_logprobs([step[b:b + 1] for step in out.logits[:len(ids)]], ids,
                                                 rule.allowed if rule else None)
            text, spans = confidence.char_spans(tok, ids)
            answers.append(confidence.ScoredAnswer(text, ids, logprobs, spans,
                                                   prompt_length=int(inputs["attention_mask"][b].sum())))
        return answers

    def generate(self, video_path: str | Path, fps: float = 4.0, instruction: str | None = None,
                 max_new_tokens: int = 256) -> str:
        """The model's raw answer text to ``instruction`` (default: the events instruction)."""
        return self.generate_scored(video_path, fps, instruction, max_new_tokens).text

    def score(self, answer: confidence.ScoredAnswer) -> dict:
        """``confidence.score_answer`` plus, per event, ``confidence``: the raw one through the adapter's
        calibration (``calibration.json``, fitted on val by the evaluation) when it has one, else the raw one."""
        scored = confidence.score_answer(answer)
        for e in scored["events"]:
            e["confidence"] = self.calibration.apply_one(e["raw_logp"]) if self.calibration else e["raw_confidence"]
        return scored

    def predict(self, video_path: str | Path, fps: float = 4.0, max_new_tokens: int = 256) -> dict:
        """``{"events": [...with confidence, raw_confidence, time_confidence], "answer_confidence": p}``."""
        return self.score(self.generate_scored(video_path, fps, max_new_tokens=max_new_tokens))

    def predict_events(self, video_path: str | Path, fps: float = 4.0, max_new_tokens: int = 256) -> list[dict]:
        """Parsed events with their confidences; an answer that is not valid events JSON gives []."""
        return self.predict(video_path, fps, max_new_tokens)["events"]

    def forget(self, video_path: str | Path) -> None:
        """Drop the decoded frames of ``video_path`` from the in-memory cache (a window is seen once)."""
        self.cache.forget(str(video_path))


def left_padded(rows: list[dict], pad_token_id: int) -> dict:
    """One ``generate`` input from per-request inputs (``EventPredictor.inputs``): prompts left-padded to one
    length (masked out; Qwen2.5-VL's rope positions follow the attention mask), videos concatenated in order."""
    import torch

    if len(rows) == 1:
        return rows[0]
    n = max(r["input_ids"].shape[1] for r in rows)

    def pad(key, value):
        return torch.cat([torch.nn.functional.pad(r[key], (n - r[key].shape[1], 0), value=value) for r in rows])

    return {"input_ids": pad("input_ids", pad_token_id), "attention_mask": pad("attention_mask", 0),
            "mm_token_type_ids": pad("mm_token_type_ids", 0),
            "pixel_values_videos": torch.cat([r["pixel_values_videos"] for r in rows]),
            "video_grid_thw": torch.cat([r["video_grid_thw"] for r in rows]),
            "second_per_grid_ts": torch.cat([r["second_per_grid_ts"].reshape(-1) for r in rows])}


class RowConstraints:
    """A transformers logits processor over a batch: each row's own ``constrained.AnswerConstraint`` until the
    row has ended (its ``<|im_end|>``; ``generate`` pads it after that). Rows without one decode freely; their
    budget is applied when the answer is read (``EventPredictor._generate``)."""

    def __init__(self, rules: list, eos_token_id: int):
        self.rules, self.eos = rules, eos_token_id
        self.prompt_len: int | None = None
        self.ended = [False] * len(rules)

    def __call__(self, input_ids, scores):
        import torch

        if self.prompt_len is None:
            self.prompt_len = input_ids.shape[1]
        made = input_ids.shape[1] - self.prompt_len
        if not any(self.rules):
            return scores
        rows = []
        for b, rule in enumerate(self.rules):
            self.ended[b] = self.ended[b] or (made > 0 and int(input_ids[b, -1]) == self.eos)
            rows.append(rule(input_ids[b:b + 1], scores[b:b + 1]) if rule is not None and not self.ended[b] else scores[b:b + 1])
        return torch.cat(rows)
