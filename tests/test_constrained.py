"""Constrained decoding: the grammar and the prefix walker agree with every answer ``prompts`` writes, the
end-after-start / within-the-clip rule holds on crafted logits (tokens of several digits included), the
token budget closes the answer, and an untrained tiny model's answers to every task all parse."""

import random

import pytest
import torch

from football_assets.core import prompts
from football_assets.core.demo.generator import plan_clips
from football_assets.core.events import EVENT_CLASSES
from football_assets.core.inference import constrained
from football_assets.core.training.model import build_tiny_processor, get_spec

EOS = "<|im_end|>"


def merged_digits_tokenizer():
    """A byte-level BPE fitted on answers, so that times merge into tokens of several digits (" 11", "12"):
    the case a tokenizer that splits digits one per token never shows."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [prompts.format_events(c.events) for c in plan_clips(200, 5)] + [f"{t / 10:.1f}" for t in range(1200)]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=700, special_tokens=["<|endoftext|>", EOS], show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=EOS, pad_token="<|endoftext|>")


@pytest.fixture(scope="module", params=["model", "merged-digits"])
def tok(request):
    """The tiny model's own tokenizer and a BPE with multi-digit tokens: the constraint works with either."""
    return build_tiny_processor(get_spec("tiny")).tokenizer if request.param == "model" else merged_digits_tokenizer()


def written_answers():
    """(format, answer) for every kind of answer the project trains on."""
    out = []
    for clip in plan_clips(24, 3):
        for reasoning in (False, True):
            out.append((constrained.AnswerFormat("events", None, reasoning, clip.duration), prompts.format_events(clip.events, reasoning)))
            for cls in EVENT_CLASSES:
                ev = next((e for e in clip.events if e.event == cls), None)
                out.append((constrained.AnswerFormat("grounding", cls, reasoning, clip.duration),
                            prompts.format_grounding(cls, (ev.start_time, ev.end_time) if ev else None, reasoning)))
            for ev in clip.events[:1]:
                out.append((constrained.AnswerFormat(prompts.FREE_TEXT_TASK, None, reasoning, clip.duration),
                            prompts.format_free_grounding((ev.start_time, ev.end_time), ev.event, reasoning)))
            out.append((constrained.AnswerFormat(prompts.FREE_TEXT_TASK, None, reasoning), prompts.format_free_grounding(None, None, reasoning)))
    return out


def test_instructions_name_their_format():
    assert constrained.answer_format(None).task == "events"
    assert constrained.answer_format(prompts.events_instruction(True)).reasoning
    g = constrained.answer_format(prompts.grounding_question("Red card"), 8.0)
    assert (g.task, g.event, g.duration) == ("grounding", "Red card", 8.0)
    assert constrained.answer_format(prompts.free_grounding_question("When does this happen: a header?")).task == prompts.FREE_TEXT_TASK
    assert constrained.answer_format("Describe the weather.") is None


def test_every_written_answer_is_whole_in_the_walker_and_the_grammar(tok):
    import xgrammar as xgr

    info = xgr.TokenizerInfo.from_huggingface(tok, vocab_size=len(tok))
    compiler = xgr.GrammarCompiler(info)
    pairs = written_answers()
    assert len({a for _, a in pairs}) > 100
    for fmt, answer in pairs:
        assert fmt.completion(answer) == "", answer
        assert all(fmt.completion(answer[:k]) is not None for k in range(len(answer))), answer
        m = xgr.GrammarMatcher(compiler.compile_grammar(fmt.ebnf()), override_stop_tokens=[tok.convert_tokens_to_ids(EOS)])
        assert m.accept_string(answer), answer
        assert m.accept_token(tok.convert_tokens_to_ids(EOS)) and m.is_terminated()
    fmt = constrained.AnswerFormat("events", None, False, 8.0)
    assert fmt.completion('[{"event": "Goal", "start_time": 5.3, "end_time": 3') is None  # 3x.x > 8.0, 3.x < 5.4
    assert fmt.completion('[{"event": "Goal", "start_time": 5.3, "end_time": 5.3') is None
    assert fmt.completion('[{"event": "Goal", "start_time": 8.0') is None  # no room left for the end
    assert fmt.completion('[{"event": "Goal", "start_time": 5.3, "end_time": ') == '5.4, "description": ""}]'
    assert constrained.num_completion("1", 51, None) == ("0.0", 100)  # 10.0: more digits, not a smaller number


def run_crafted(tok, fmt, bad: str, max_new: int, seed: int):
    """Greedy decoding through ``AnswerConstraint`` with crafted logits: random, plus a large bonus for the
    token that spells ``bad`` further (longest first, so tokens of several digits are taken)."""
    vocab = len(tok)
    eos = tok.convert_tokens_to_ids(EOS)
    rule = constrained.AnswerConstraint(fmt, tok, vocab, max_new, eos)
    gen = torch.Generator().manual_seed(seed)
    ids = [1, 2, 3]
    for _ in range(max_new):
        logits = torch.rand(1, vocab, generator=gen)
        text = tok.decode(ids[3:], skip_special_tokens=True)
        if bad.startswith(text) and len(bad) > len(text):
            logits[0, rule.split(bad[len(text):])[0]] += 100.0
        elif text == bad:
            logits[0, eos] += 100.0
        t = int(rule(torch.tensor([ids]), logits).argmax())
        ids.append(t)
        if t == eos:
            break
    return rule, ids[3:]


@pytest.mark.parametrize("bad", [
    '[{"event": "Penalty", "start_time": 5.3, "end_time": 3.3, "description": "x"}]',
    '[{"event": "Goal", "start_time": 2.0, "end_time": 11.0, "description": ""}]',  # the tiny tokenizer has "11", " 1"
    '[{"event": "Goal", "start_time": 6.5, "end_time": 6.5, "description": ""}]',
    '[{"event": "Foul", "start_time": 9.9, "end_time": 10.4, "description": ""}]',
])
def test_end_after_start_and_within_the_clip_on_crafted_logits(tok, bad):
    fmt = constrained.AnswerFormat("events", None, False, 8.0)
    for seed in range(3):
        rule, ids = run_crafted(tok, fmt, bad, 200, seed)
        assert ids[-1] == tok.convert_tokens_to_ids(EOS)
        events = prompts.parse_events(tok.decode(ids, skip_special_tokens=True))
        assert events and all(0 <= e["start_time"] < e["end_time"] <= 8.0 for e in events), events
        masked = [k for k, m in enumerate(rule.allowed) if not bool(m[ids[k]])]
        assert not masked


def test_number_tokens_are_judged_whole(tok):
    """After ``"end_time":`` with start 5.3 in a 12 s clip, a token of digits is allowed exactly when some time
    from 5.4 to 12.0 s begins with them (" 11" or "1" yes, via 1x.x; " 3" no: 3.x is before the start, 3x.x
    after the clip), whether the tokenizer writes " 11" as one token or "1", "1" after a space token."""
    fmt = constrained.AnswerFormat("events", None, False, 12.0)
    rule = constrained.AnswerConstraint(fmt, tok, len(tok), 200, tok.convert_tokens_to_ids(EOS))
    spaced = {t[1:]: i for t, i in rule.by_text.items() if t[:1] == " " and t[1:].isdigit()}
    numbers = spaced or {t: i for t, i in rule.by_text.items() if t.isdigit()}
    prefix = '[{"event": "Goal", "start_time": 5.3, "end_time":' + ("" if spaced else " ")
    rule.step_mask(torch.tensor([1]))  # the prompt
    mask = rule.step_mask(torch.tensor([1] + rule.split(prefix)))
    times = [f"{v // 10}.{v % 10}" for v in range(54, 121)]
    for digits, i in numbers.items():
        assert bool(mask[i]) == any(x.split(".")[0].startswith(digits) for x in times), digits
    assert any(bool(mask[i]) for i in numbers.values()) and not all(bool(mask[i]) for i in numbers.values())


def test_the_budget_closes_the_answer(tok):
    fmt = constrained.AnswerFormat("events", None, False, 8.0)
    long = '[{"event": "Goal", "start_time": 1.0, "end_time": 2.0, "description": "' + "very long " * 40
    answers = {}
    for budget in (20, 30, 45, 60, 90):
        rule, ids = run_crafted(tok, fmt, long, budget, 0)
        assert len(ids) <= budget and ids[-1] == tok.convert_tokens_to_ids(EOS)
        answers[budget] = prompts.parse_events(tok.decode(ids, skip_special_tokens=True))
    assert answers[20] == []  # no room for an event: the shortest answer, not a cut one
    assert len(answers[90]) == 1 and answers[90][0]["description"].startswith("very long very long")


def test_an_untrained_model_answers_every_task_in_format(tmp_path):
    """The base tiny model (random weights, never trained) on real demo clips: every answer parses."""
    from football_assets.core.inference.predictor import EventPredictor
    from football_assets.core.layout import DataLayout
    from tests.fixtures_training import make_demo_clips

    clips = make_demo_clips(DataLayout(tmp_path / "data"), n=3)
    pred = EventPredictor("tiny")
    rng = random.Random(0)
    asks = [("events", None), ("events", prompts.events_instruction(True))]
    asks += [("grounding", prompts.grounding_question(c)) for c in rng.sample(EVENT_CLASSES, 3)]
    asks += [(prompts.FREE_TEXT_TASK, prompts.free_grounding_question("When does this happen: a shot from outside the box?"))]
    n = 0
    for clip in clips:
        for task, instruction in asks:
            ans = pred.generate_scored(clip["path"], instruction=instruction, max_new_tokens=rng.choice([40, 64]))
            parsed = prompts.parse_answer(task, ans.text)
            spans = parsed if task == "events" else [parsed]
            assert all(s["end_time"] <= clip["duration_s"] for s in spans if "end_time" in s)
            assert all(lp <= 0 for lp in ans.logprobs)
            n += 1
    assert n == len(clips) * len(asks)
    pred.constrain = False  # without the constraint the same model writes no valid events answer
    with pytest.raises(prompts.AnswerParseError):
        prompts.parse_events(pred.generate_scored(clips[0]["path"], max_new_tokens=40).text)


def test_a_batch_answers_as_each_request_alone(tmp_path):
    """``generate_scored_many`` (left-padded prompts of different lengths, one constraint and budget per row)
    gives each request the answer and log probabilities it gets alone; free decoding keeps each row's budget."""
    from football_assets.core.inference.predictor import EventPredictor, Request
    from football_assets.core.layout import DataLayout
    from tests.fixtures_training import make_demo_clips

    clips = make_demo_clips(DataLayout(tmp_path / "data"), n=2)
    pred = EventPredictor("tiny")
    requests = [Request(clips[0]["path"], instruction=None, max_new_tokens=48),
                Request(clips[1]["path"], instruction=prompts.grounding_question("Goal"), max_new_tokens=24),
                Request(clips[0]["path"], instruction=prompts.free_grounding_question("When does a corner happen?"),
                        max_new_tokens=40),
                Request(clips[1]["path"], instruction=prompts.events_instruction(True), max_new_tokens=64)]
    for constrain in (True, False):
        pred.constrain = constrain
        alone = [pred.generate_scored(r.video_path, r.fps, r.instruction, r.max_new_tokens) for r in requests]
        together = pred.generate_scored_many(requests, batch_size=len(requests))
        for r, a, b in zip(requests, alone, together):
            assert b.text == a.text and b.token_ids == a.token_ids and b.prompt_length == a.prompt_length
            assert b.logprobs == pytest.approx(a.logprobs, abs=1e-4)
            assert len(b.token_ids) <= (r.max_new_tokens if not constrain else 10**6)
    assert len({a.prompt_length for a in alone}) > 1  # the prompts really were padded
