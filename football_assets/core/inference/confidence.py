"""Event confidences from the token probabilities of the one greedy decode (no second pass, no sampling).

Definitions (per event of a parsed events answer):

* ``confidence`` (raw, before calibration) = P(item opens) x P(class name): the product of the model's
  probabilities of the token that opens the event's JSON object (``[{`` / ``, {``: the decision "one more
  event" rather than ``]``) and of the tokens that spell its class name. It is the probability the model
  gave to "there is an event here and it is this class", the part of an answer a detection is ranked on.
* ``time_confidence`` = the product of the probabilities of the tokens of its ``start_time`` and
  ``end_time`` numbers, kept apart: how sure the model is of *when*, which a detection score should not
  mix with *whether* (a long-tailed number would otherwise sink a certain event).
* ``answer_confidence`` of a whole answer = the product of the probabilities of all its tokens: for ``[]``
  the probability of "no event", the uncertainty measure of a clip without events.

Token probabilities are those of the distribution each token was chosen from: the softmax of the raw
logits of the decode step (``output_logits``) over the tokens the answer-format constraint allowed at that
step (``constrained.AnswerConstraint.allowed``; all tokens when decoding is free), in float64. So a token
the format forces has probability 1 and tells nothing, and the mass the model put on text that would not
parse (a misspelt class, an end before the start) is left out: ``P(class)`` is the model's choice among the
classes, the decision the detection is ranked on. ``log p`` is computed as ``-log1p(sum of the others' exp(l_j - l_i))`` so a
probability within 1e-17 of 1 keeps its distance from 1 (needed by the calibration's logit).
Tokens are mapped to events through their character spans in the decoded answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from football_assets.core import prompts

_ITEM = re.compile(r"\{")
_CLASS = re.compile(r'"event"\s*:\s*"([^"]*)"')
_NUMBER = re.compile(r'"(start_time|end_time)"\s*:\s*"?([-+0-9.eE]+)"?')


@dataclass
class ScoredAnswer:
    """A decoded answer with, per generated token, its id, log probability and character span in ``text``."""

    text: str
    token_ids: list[int]
    logprobs: list[float]
    spans: list[tuple[int, int]]
    prompt_length: int = 0
    extra: dict = field(default_factory=dict)

    def tokens_in(self, start: int, end: int) -> list[int]:
        """Indices of the tokens whose span overlaps the characters ``[start, end)``."""
        return [k for k, (s, e) in enumerate(self.spans) if s < end and start < e and e > s]

    def logprob(self, tokens: list[int]) -> float:
        return float(sum(self.logprobs[k] for k in tokens))


def token_logprobs(logits_steps, token_ids, allowed=None) -> list[float]:
    """log p of each chosen token from the per-step logits (``[1, vocab]`` tensors), precise near p = 1;
    with ``allowed`` (per step a bool mask over the vocabulary) renormalised over the allowed tokens.
    In numpy, float64: per-step torch ops on a busy CPU cost more than the arithmetic."""
    import numpy as np

    out = []
    for k, (step, tok) in enumerate(zip(logits_steps, token_ids)):
        row = step[0].detach().to("cpu").double().numpy()
        d = row - row[tok]
        if allowed is not None:
            mask = np.zeros(len(d), dtype=bool)
            mask[:len(allowed[k])] = allowed[k]
            d[~mask] = -np.inf
        d[tok] = -np.inf
        top = d.max()
        lse = -np.inf if top == -np.inf else top + np.log(np.exp(d - top).sum())  # log sum_{j != i} exp(l_j - l_i)
        out.append(-float(np.logaddexp(0.0, lse)))  # -softplus, exact for a probability near 1
    return out


def char_spans(tokenizer, token_ids: list[int]) -> tuple[str, list[tuple[int, int]]]:
    """The answer text as ``EventPredictor.generate`` returns it (special tokens dropped, stripped) and each
    token's character span in it (empty for special tokens and stripped whitespace)."""
    spans, prev = [], 0
    for k in range(len(token_ids)):
        cur = len(tokenizer.decode(token_ids[:k + 1], skip_special_tokens=True))
        spans.append((prev, max(prev, cur)))
        prev = max(prev, cur)
    full = tokenizer.decode(token_ids, skip_special_tokens=True)
    lead = len(full) - len(full.lstrip())
    text = full.strip()
    return text, [(max(0, s - lead), max(0, min(e - lead, len(text)))) for s, e in spans]


def _answer_region(text: str) -> int:
    """Where the JSON answer starts (after a ``<answer>`` tag or a think block), so prose is not searched."""
    if "<answer>" in text:
        return text.index("<answer>") + len("<answer>")
    if "</think>" in text:
        return text.index("</think>") + len("</think>")
    return 0


def event_scores(ans: ScoredAnswer, events: list[dict]) -> list[dict] | None:
    """Per parsed event (``prompts.parse_events(ans.text)``, same order): ``raw_confidence``,
    ``raw_logp`` (its log, for the calibration), ``time_confidence`` and the token indices used
    (``tokens``: the class's; ``time_tokens``). None when the items cannot be located in the text."""
    text, pos, out = ans.text, _answer_region(ans.text), []
    for ev in events:
        m = _CLASS.search(text, pos)
        if m is None:
            return None
        try:
            if prompts._check_class(m.group(1), "event") != ev["event"]:
                return None
        except prompts.AnswerParseError:
            return None
        opening = text.rfind("{", pos, m.start())
        if opening < 0:
            return None
        cls_tokens = ans.tokens_in(m.start(1), m.end(1))
        open_tokens = [k for k in ans.tokens_in(opening, opening + 1) if k not in cls_tokens]
        item_end = text.find("}", m.end())
        item_end = len(text) if item_end < 0 else item_end
        times = [t for t in _NUMBER.finditer(text, pos, item_end)]
        time_tokens = sorted({k for t in times for k in ans.tokens_in(t.start(2), t.end(2))})
        tokens = sorted(set(open_tokens + cls_tokens))
        if not cls_tokens:
            return None
        logp = ans.logprob(tokens)
        out.append({"raw_confidence": math.exp(logp), "raw_logp": logp,
                    "time_confidence": math.exp(ans.logprob(time_tokens)), "tokens": tokens, "time_tokens": time_tokens})
        pos = item_end
    return out


def answer_confidence(ans: ScoredAnswer) -> float:
    """P(the whole answer text): for ``[]`` the model's probability that nothing happens."""
    return math.exp(ans.logprob(ans.tokens_in(0, len(ans.text))))


def score_answer(ans: ScoredAnswer) -> dict:
    """``{"events": parsed events each with raw_confidence/raw_logp/time_confidence, "answer_confidence"}``;
    an unparseable answer gives no events. Items that cannot be located (not expected for an answer that
    parsed) fall back to the answer's per-token geometric mean probability, still the model's own."""
    try:
        events = prompts.parse_events(ans.text)
    except prompts.AnswerParseError:
        events = []
    scores = event_scores(ans, events)
    if scores is None:
        n = max(1, len(ans.logprobs))
        g = ans.logprob(list(range(len(ans.logprobs)))) / n
        scores = [{"raw_confidence": math.exp(g), "raw_logp": g, "time_confidence": math.exp(g),
                   "tokens": [], "time_tokens": []} for _ in events]
    merged = [{**e, **{k: v for k, v in s.items() if k not in ("tokens", "time_tokens")}} for e, s in zip(events, scores)]
    return {"events": merged, "scores": scores, "answer_confidence": answer_confidence(ans)}
