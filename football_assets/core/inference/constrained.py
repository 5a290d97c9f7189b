"""Answers that always parse: decoding constrained to the exact answer format of each task.

One description of each answer format (``answer_format``), derived from ``prompts``, gives

* the grammar (xgrammar EBNF, ``AnswerFormat.ebnf``) that masks, at every decode step, the tokens that
  would leave the format: the exact text ``prompts.format_*`` writes (key order, ``", "`` separators,
  times with one decimal, the known event classes, the asked class of a grounding question), so the
  constrained decoder never pushes the model off the format it was trained on;
* the rules a grammar cannot say, enforced in the same decode step by ``AnswerConstraint`` (a transformers
  logits processor), not by fixing the answer afterwards: every ``end_time`` after its ``start_time``
  and every time within the clip (when its duration is known), checked on the text each candidate token
  would make, so tokens holding several digits are judged as a whole; and the token budget: when the
  tokens left are just enough to finish the answer, the shortest completion is forced, so an answer is
  never cut off mid-JSON by ``max_new_tokens``.

The same grammar goes to vLLM (``serving.vllm_request``). Which format applies is read from the
instruction itself (every generating path builds it with ``prompts``), so callers need no extra argument;
an instruction that is none of the project's gets no constraint.
"""

from __future__ import annotations

import hashlib
import json
import re
import weakref
from dataclasses import dataclass

import numpy as np

from football_assets.core import prompts
from football_assets.core.events import EVENT_CLASSES

# --------------------------------------------------------------------------------------------
# The answer formats as small grammar nodes (one description: EBNF for the library, a prefix walker here)


@dataclass(frozen=True)
class Lit:
    text: str


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]


@dataclass(frozen=True)
class Num:
    """A time in seconds as ``prompts`` writes it (``12.3``); ``role`` 'start' or 'end' sets its bounds."""

    role: str


@dataclass(frozen=True)
class Desc:
    """The body of a JSON string as ``json.dumps(ensure_ascii=False)`` writes a whitespace-normalised text."""


@dataclass(frozen=True)
class Think:
    """Free reasoning text without ``<`` (so it cannot open a tag)."""


@dataclass(frozen=True)
class Seq:
    parts: tuple


@dataclass(frozen=True)
class Alt:
    branches: tuple


@dataclass(frozen=True)
class Star:
    body: object


@dataclass(frozen=True)
class Opt:
    body: object


def _seq(*parts) -> Seq:
    return Seq(tuple(parts))


def _span_item(event_node, with_description: bool) -> Seq:
    tail = (Lit(', "description": "'), Desc(), Lit('"}')) if with_description else (Lit("}"),)
    return _seq(Lit('{"event": "'), event_node, Lit('", "start_time": '), Num("start"), Lit(', "end_time": '), Num("end"), *tail)


@dataclass(frozen=True)
class AnswerFormat:
    """The exact answer format of one request: ``task`` (events, grounding, grounding_text), the asked
    ``event`` of a grounding question, the reasoning form, and the clip ``duration`` bounding the times."""

    task: str
    event: str | None = None
    reasoning: bool = False
    duration: float | None = None

    def root(self):
        classes = Choice(tuple(EVENT_CLASSES))
        if self.task == "events":
            item = _span_item(classes, True)
            body = _seq(Lit("["), Opt(_seq(item, Star(_seq(Lit(", "), item)))), Lit("]"))
        elif self.task == "grounding":
            asked = Lit(self.event)
            body = Alt((_span_item(asked, False), _seq(Lit('{"event": "'), asked, Lit('", "occurs": false}'))))
        elif self.task == prompts.FREE_TEXT_TASK:
            body = Alt((_span_item(classes, False), Lit('{"occurs": false}')))
        else:
            raise ValueError(f"unknown task {self.task!r}; expected 'events', 'grounding' or {prompts.FREE_TEXT_TASK!r}")
        if self.reasoning:  # prompts.wrap_reasoning
            return _seq(Lit("<think>\n"), Think(), Lit("\n</think>\n\n<answer>\n"), body, Lit("\n</answer>"))
        return body

    def ebnf(self) -> str:
        """The grammar in xgrammar's EBNF (also what vLLM's ``structured_outputs.grammar`` takes). Time
        bounds and end-after-start are not in it: ``AnswerConstraint`` adds them in the decode step."""
        return ("root ::= " + _ebnf(self.root()) + "\n"
                'num ::= ("0" | [1-9] [0-9]*) "." [0-9]\n'
                'desc ::= ([^"\\\\\\x00-\\x1f] | "\\\\" ["\\\\])*\n'
                "think ::= [^<]*\n")

    def bounds(self, role: str, start: int | None) -> tuple[int, int | None]:
        """Allowed tenths of a second ``[lo, hi]`` (hi None: unbounded) of a time; ``start`` in tenths."""
        top = round(self.duration * 10) if self.duration and self.duration >= 0.2 else None
        if role == "start":
            return 0, (top - 1 if top is not None else None)
        return (start or 0) + 1, top

    def completion(self, text: str) -> str | None:
        """The shortest text that makes ``text`` a whole valid answer ('' if it is one); None when ``text``
        is not the beginning of any valid answer."""
        best = None
        for pos, env, comp in _walk(self.root(), text, 0, {}, self):
            if comp is None:
                if pos != len(text):
                    continue
                comp = ""
            if best is None or len(comp) < len(best):
                best = comp
        return best


def _lit(s: str) -> str:
    return json.dumps(s)


def _ebnf(node) -> str:
    if isinstance(node, Lit):
        return _lit(node.text)
    if isinstance(node, Choice):
        return "(" + " | ".join(_lit(o) for o in node.options) + ")"
    if isinstance(node, Num):
        return "num"
    if isinstance(node, Desc):
        return "desc"
    if isinstance(node, Think):
        return "think"
    if isinstance(node, Seq):
        return "(" + " ".join(_ebnf(p) for p in node.parts) + ")"
    if isinstance(node, Alt):
        return "(" + " | ".join(_ebnf(b) for b in node.branches) + ")"
    if isinstance(node, Star):
        return "(" + _ebnf(node.body) + ")*"
    if isinstance(node, Opt):
        return "(" + _ebnf(node.body) + ")?"
    raise TypeError(node)


# --------------------------------------------------------------------------------------------
# Prefix walker: where a partial answer stands and its shortest completion

_NUM_PREFIX = re.compile(r"(?:(0|[1-9][0-9]*)(\.([0-9])?)?)?")


def _fmt(tenths: int) -> str:
    return f"{tenths // 10}.{tenths % 10}"


def num_completion(prefix: str, lo: int, hi: int | None) -> tuple[str, int] | None:
    """The shortest completion of the number ``prefix`` to a time in tenths within ``[lo, hi]`` (and its
    value), or None when no completion of it is in range: the digit-by-digit rule, for any token split."""
    m = _NUM_PREFIX.fullmatch(prefix)
    if m is None or (hi is not None and hi < lo):
        return None
    whole, dot, dec = m.group(1), m.group(2), m.group(3)
    if whole is None:
        return _fmt(lo), lo
    ip = int(whole)
    if dec is not None:
        v = ip * 10 + int(dec)
        return ("", v) if lo <= v and (hi is None or v <= hi) else None
    if dot:
        a, b = max(lo, ip * 10), ip * 10 + 9 if hi is None else min(hi, ip * 10 + 9)
        return (str(a % 10), a) if a <= b else None
    for k in range(0, 1 if whole == "0" else 12):  # k more integer digits
        a, b = ip * 10 ** (k + 1), (ip + 1) * 10 ** (k + 1) - 1
        a, b = max(a, lo), b if hi is None else min(b, hi)
        if a <= b:
            return _fmt(a)[len(whole):], a
    return None


def _minimal(node, env: dict, fmt: AnswerFormat) -> tuple[str, dict]:
    if isinstance(node, Lit):
        return node.text, env
    if isinstance(node, Choice):
        return min(node.options, key=len), env
    if isinstance(node, Num):
        lo, _ = fmt.bounds(node.role, env.get("start"))
        return _fmt(lo), {**env, node.role: lo}
    if isinstance(node, (Desc, Think, Star, Opt)):
        return "", env
    if isinstance(node, Seq):
        out = ""
        for p in node.parts:
            s, env = _minimal(p, env, fmt)
            out += s
        return out, env
    if isinstance(node, Alt):
        return min((_minimal(b, env, fmt) for b in node.branches), key=lambda r: len(r[0]))
    raise TypeError(node)


def _walk(node, text: str, pos: int, env: dict, fmt: AnswerFormat):
    """Every way ``node`` reads ``text`` from ``pos``: ``(end, env, None)`` when it ends there, or
    ``(len(text), env, completion)`` when the text runs out inside it."""
    rem = text[pos:]
    if isinstance(node, (Lit, Choice)):
        for s in (node.options if isinstance(node, Choice) else (node.text,)):
            if rem.startswith(s):
                yield pos + len(s), env, None
            elif s.startswith(rem):
                yield len(text), env, s[len(rem):]
    elif isinstance(node, Num):
        run = re.match(r"[0-9.]*", rem).group(0)
        lo, hi = fmt.bounds(node.role, env.get("start"))
        done = num_completion(run, lo, hi)
        if done is None:
            return
        comp, value = done
        if len(run) < len(rem):  # the number ended: it must be whole and in range
            if comp == "":
                yield pos + len(run), {**env, node.role: value}, None
        elif comp == "":
            yield len(text), {**env, node.role: value}, None
        else:
            yield len(text), {**env, node.role: value}, comp
    elif isinstance(node, Desc):
        i = 0
        while i < len(rem):
            c = rem[i]
            if c == '"':
                yield pos + i, env, None
                return
            if c == "\\":
                if i + 1 == len(rem):
                    yield len(text), env, "\\"
                    return
                if rem[i + 1] not in '"\\':
                    return
                i += 2
                continue
            if ord(c) < 0x20:
                return
            i += 1
        yield len(text), env, ""
    elif isinstance(node, Think):
        j = rem.find("<")
        if j >= 0:
            if j >= 1 and rem[j - 1] == "\n":
                yield pos + j - 1, env, None
            return
        yield len(text), env, ""
        if rem.endswith("\n"):
            yield len(text) - 1, env, None
    elif isinstance(node, Seq):
        yield from _walk_seq(node.parts, 0, text, pos, env, fmt)
    elif isinstance(node, Alt):
        for b in node.branches:
            yield from _walk(b, text, pos, env, fmt)
    elif isinstance(node, Opt):
        yield pos, env, None
        yield from _walk(node.body, text, pos, env, fmt)
    elif isinstance(node, Star):
        yield pos, env, None
        for p, e, c in _walk(node.body, text, pos, env, fmt):
            if c is not None:
                yield p, e, c
            elif p > pos:
                yield from _walk(node, text, p, e, fmt)
    else:
        raise TypeError(node)


def _walk_seq(parts, i, text, pos, env, fmt):
    if i == len(parts):
        yield pos, env, None
        return
    for p, e, c in _walk(parts[i], text, pos, env, fmt):
        if c is None:
            yield from _walk_seq(parts, i + 1, text, p, e, fmt)
        else:
            rest, e = _minimal(Seq(parts[i + 1:]), e, fmt)
            yield len(text), e, c + rest


# --------------------------------------------------------------------------------------------
# Which format an instruction asks for


def answer_format(instruction: str | None, duration: float | None = None) -> AnswerFormat | None:
    """The answer format the instruction (built by ``prompts``) asks for; None for any other text."""
    text = instruction or prompts.EVENTS_INSTRUCTION
    reasoning = text.endswith(prompts.REASONING_SUFFIX)
    base = text[:-len(prompts.REASONING_SUFFIX)] if reasoning else text
    if base == prompts.EVENTS_INSTRUCTION:
        return AnswerFormat("events", None, reasoning, duration)
    for cls in EVENT_CLASSES:
        if base == prompts.grounding_question(cls):
            return AnswerFormat("grounding", cls, reasoning, duration)
    tail = prompts.FREE_GROUNDING_TEMPLATE.split("{question}", 1)[1]
    if base.endswith(tail.replace("{{", "{").replace("}}", "}")):
        return AnswerFormat(prompts.FREE_TEXT_TASK, None, reasoning, duration)
    return None


# --------------------------------------------------------------------------------------------
# The logits processor

#: byte tokens that can still follow the first byte of one UTF-8 character
_UTF8_TAIL = 3


_VOCABS: dict[tuple[str, int], tuple] = {}
#: tokenizer object -> its content hash: serialising a 152k vocabulary to hash it takes ~0.1 s, once per object
_CONTENT_KEYS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _vocab(tokenizer, vocab_size: int):
    """Per tokenizer (by content: each predictor loads its own copy) and vocabulary size, built once per
    process: each id's text (None for special tokens); the ids whose text has a digit or '.' (times), a cut
    character (partial UTF-8), a ',' or '{' (may open an event); a text -> id map for forcing, the longest
    token text; xgrammar's compiler and tokenizer info."""
    content = _CONTENT_KEYS.get(tokenizer)
    if content is None:
        content = _CONTENT_KEYS[tokenizer] = hashlib.sha1(tokenizer.backend_tokenizer.to_str().encode()).hexdigest()
    key = (content, vocab_size)
    if key not in _VOCABS:
        _VOCABS[key] = _build_vocab(tokenizer, vocab_size)
    return _VOCABS[key]


def _build_vocab(tokenizer, vocab_size: int):
    import xgrammar as xgr

    special = set(tokenizer.all_special_ids) | {i for i, t in tokenizer.added_tokens_decoder.items() if t.special}
    n = min(vocab_size, len(tokenizer))
    decoded = tokenizer.batch_decode([[i] for i in range(n)], clean_up_tokenization_spaces=False)
    texts: list[str | None] = [None if i in special else t for i, t in enumerate(decoded)] + [None] * (vocab_size - n)
    numeric = [i for i, t in enumerate(texts) if t and re.search(r"[0-9.]", t)]
    partial = [i for i, t in enumerate(texts) if t and "\ufffd" in t]
    openers = [i for i, t in enumerate(texts) if t and ("," in t or "{" in t)]
    by_text: dict[str, int] = {}
    for i, t in enumerate(texts):
        if t and "\ufffd" not in t:
            by_text.setdefault(t, i)
    info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
    numeric, partial, openers = (np.array(x, dtype=np.int64) for x in (numeric, partial, openers))
    return texts, numeric, partial, openers, by_text, max(map(len, by_text)), xgr.GrammarCompiler(info, cache_enabled=True), info


class AnswerConstraint:
    """A transformers ``LogitsProcessor`` for one greedy ``generate`` call (batch of one): the format's
    grammar (xgrammar), times in range with ``end_time`` after ``start_time``, and the token budget.

    ``allowed`` keeps, per step, the mask of tokens it allowed, so the confidences can be read from the
    constrained (renormalised) distribution the answer was actually chosen from."""

    def __init__(self, fmt: AnswerFormat, tokenizer, vocab_size: int, max_new_tokens: int, eos_token_id: int):
        import xgrammar as xgr

        self.fmt, self.tok, self.max_new, self.eos = fmt, tokenizer, max_new_tokens, eos_token_id
        self.texts, self.numeric, self.partial, self.openers, self.by_text, self.longest, compiler, info = _vocab(tokenizer, vocab_size)
        self.matcher = xgr.GrammarMatcher(compiler.compile_grammar(fmt.ebnf()), override_stop_tokens=[eos_token_id])
        self.bitmask = xgr.allocate_token_bitmask(1, info.vocab_size)
        self.vocab_size = vocab_size
        self.prompt_len: int | None = None
        self.ids: list[int] = []
        self.allowed: list = []
        minimal = _minimal(fmt.root(), {}, fmt)[0]
        # a budget too small for even the shortest answer (and its end token) is raised to it: a constrained
        # answer is never cut off; the caller generates with ``self.max_new``
        self.max_new = max(max_new_tokens, self.n_tokens(minimal) + 1)
        # what one token can add to the shortest completion, besides opening a new event (checked where it
        # happens): a number's digits, an escape, a character's bytes; for grounding, the span branch
        span = _minimal(_span_item(Choice(tuple(EVENT_CLASSES)), False), {}, fmt)[0]
        self.reserve = 6 if fmt.task == "events" else self.n_tokens(span) + 2
        self.item_cost = self.n_tokens(", " + span) + 4 if fmt.task == "events" else 0

    def n_tokens(self, text: str) -> int:
        return len(self.split(text))

    def split(self, text: str) -> list[int]:
        """``text`` as the tokens forcing writes it: longest known token first."""
        out, i = [], 0
        while i < len(text):
            for j in range(min(len(text), i + self.longest), i, -1):
                tid = self.by_text.get(text[i:j])
                if tid is not None:
                    out.append(tid)
                    i = j
                    break
            else:
                raise ValueError(f"constrained decoding: no token spells {text[i]!r} in this tokenizer")
        return out

    def text(self) -> str:
        return self.tok.decode(self.ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def step_mask(self, input_ids_row) -> np.ndarray:
        """The allowed-token mask (numpy bool) for the next token after the generated ``input_ids_row`` tail.
        Mask arithmetic is numpy: a handful of small torch ops per step cost tens of ms each on a busy CPU
        (the intra-op thread pool), more than the tiny model's own step."""
        if self.prompt_len is None:
            self.prompt_len = len(input_ids_row)
        new = input_ids_row[self.prompt_len + len(self.ids):].tolist()
        for t in new:
            if not self.matcher.accept_token(t):
                raise RuntimeError(f"constrained decoding: token {t} left the answer format")
            self.ids.append(t)
        text = self.text()
        left = self.max_new - len(self.ids)
        rest = self.fmt.completion(text)
        if rest is None:
            raise RuntimeError(f"constrained decoding: {text!r} is not the beginning of a valid answer")
        forced = self.split(rest)
        pending = text.endswith("\ufffd")  # a character cut between byte tokens: its next bytes come first
        if left <= len(forced) + 1 + self.reserve and not pending:  # finish within the budget: the shortest completion
            mask = np.zeros(self.vocab_size, dtype=bool)
            mask[forced[0] if forced else self.eos] = True
            return mask
        self.matcher.fill_next_token_bitmask(self.bitmask)
        bits = np.unpackbits(self.bitmask.numpy().view(np.uint8), bitorder="little")
        mask = bits[:self.vocab_size].astype(bool)
        if left <= len(forced) + 1 + self.reserve + _UTF8_TAIL and not pending:
            mask[self.partial] = False  # near the end: open no character that could not be finished in time
        if self.item_cost and left <= len(forced) + 1 + self.reserve + self.item_cost:
            # near the end: open another event only if it can still be finished. Tokens with ',' or '{' open one;
            # inside free text (description, reasoning) only those that also end the text can.
            end = '"' if rest[:2] == '"}' else "<" if "</think>" in rest else ""
            for i in self.openers[mask[self.openers]].tolist():
                if end not in self.texts[i]:
                    continue
                more = self.fmt.completion(text + self.texts[i])
                mask[i] = more is not None and len(self.split(more)) + 1 + self.reserve <= left - 1
        cand = self.numeric[mask[self.numeric]].tolist()
        if cand and (len(cand) <= 64 or re.search(r'_time"?:? ?[0-9.]*$', text[-24:])):
            for i in cand:  # times in range and end after start, judged on the whole text the token makes
                if self.fmt.completion(text + self.texts[i]) is None:
                    mask[i] = False
        return mask

    def __call__(self, input_ids, scores):
        import torch

        if input_ids.shape[0] != 1:
            raise ValueError("constrained decoding handles one sequence at a time")
        mask = self.step_mask(input_ids[0])
        self.allowed.append(mask)
        full = np.zeros(scores.shape[-1], dtype=bool)
        full[:len(mask)] = mask
        if scores.device.type == "cpu":
            return torch.from_numpy(np.where(full, scores.numpy(), -np.inf).astype(np.float32, copy=False)).to(scores.dtype)
        return scores.masked_fill(~torch.from_numpy(full).to(scores.device)[None], -torch.inf)


def replay_masks(fmt: AnswerFormat, tokenizer, vocab_size: int, max_new_tokens: int, eos_token_id: int,
                 prompt_ids: list[int], token_ids: list[int]) -> list:
    """The masks a fresh ``AnswerConstraint`` gives along ``token_ids``: what an independent check of the
    decode (tests, audits) compares against."""
    c = AnswerConstraint(fmt, tokenizer, vocab_size, max_new_tokens, eos_token_id)
    out = []
    for k in range(len(token_ids)):
        out.append(c.step_mask(np.array(prompt_ids + token_ids[:k])))
    return out
