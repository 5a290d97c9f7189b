"""Event confidences from the real tiny model: read from the logits of the one (constrained) greedy decode,
they equal the probabilities of an independent forward pass over the generated sequence renormalised over
the tokens the answer format allowed at each step (the masks replayed by a fresh constraint), and the
decode itself is the same as without reading the logits."""

import dataclasses
import json
import math
import shutil

import numpy as np
import pytest
import torch
from transformers import LogitsProcessorList

from football_assets.core import prompts
from football_assets.core.dataset.store import load_latest
from football_assets.core.inference import confidence, constrained
from football_assets.core.inference.predictor import EventPredictor
from football_assets.core.layout import DataLayout

MAX_NEW = 96
STEPS = 40


def short_answer_splits(layout: DataLayout, clips: list[dict]):
    """The fixture's splits with events answers only and no descriptions: short answers a few dozen steps
    teach the tiny model to write as valid JSON (the project's SFT data is not touched)."""
    from football_assets.core.demo.generator import plan_clips
    from tests.fixtures_training import CUE, sample_for, write_splits

    dest = write_splits(layout, clips)
    truth = {c.key: c.events for c in plan_clips(len(clips), 0, cue=CUE)}
    facts = {c["clip_id"]: c for c in clips}
    for name in ("train", "val", "test"):
        path = dest / f"{name}.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        keep = [sample_for(facts[r["clip_id"]], [dataclasses.replace(e, description="") for e in truth[r["clip_id"]]])
                for r in rows if r["task"] == "events"]
        path.write_text("".join(json.dumps(r) + "\n" for r in keep))
    return dest


@pytest.fixture(scope="module")
def fluent_adapter(tmp_path_factory):
    """A tiny adapter trained (real steps) until it answers in the events format, so that its answers have
    events to score."""
    from football_assets.core.training.train import TrainConfig, run
    from tests.fixtures_training import make_demo_clips, tiny_config

    layout = DataLayout(tmp_path_factory.mktemp("fluent") / "data")
    splits_dir = short_answer_splits(layout, make_demo_clips(layout))
    run(TrainConfig.from_dict(tiny_config(splits_dir, layout.root / "train_out", max_steps=STEPS, save_steps=1000,
                                          learning_rate=5e-3, adapter_dir=str(layout.adapter_dir))))
    shutil.rmtree(layout.root / "train_out")
    return layout


def _plain_constraint(pred: EventPredictor, video: str) -> constrained.AnswerConstraint:
    tok = pred.processor.tokenizer
    fmt = constrained.answer_format(None, pred.cache.get(video, 4.0)["duration"])
    return constrained.AnswerConstraint(fmt, tok, pred.model.get_output_embeddings().weight.shape[0], MAX_NEW,
                                        tok.convert_tokens_to_ids("<|im_end|>"))


def _independent_token_probs(pred: EventPredictor, video: str, ans: confidence.ScoredAnswer) -> torch.Tensor:
    """P(each generated token) from one plain forward pass over prompt + generated tokens (no cache, no generate),
    renormalised over the tokens a fresh constraint allows along the same tokens."""
    inputs = pred.inputs(video)
    gen = torch.tensor([ans.token_ids])
    full = torch.cat([inputs["input_ids"], gen], 1)
    mm = torch.cat([inputs["mm_token_type_ids"], torch.zeros_like(gen)], 1)
    with torch.no_grad():
        logits = pred.model(**{**inputs, "input_ids": full, "attention_mask": torch.ones_like(full),
                               "mm_token_type_ids": mm}).logits[0]
    n = inputs["input_ids"].shape[1]
    rule = _plain_constraint(pred, video)
    masks = constrained.replay_masks(rule.fmt, rule.tok, rule.vocab_size, MAX_NEW, rule.eos,
                                     inputs["input_ids"][0].tolist(), ans.token_ids)
    steps = logits[n - 1:n - 1 + len(ans.token_ids)].double()
    steps[~torch.from_numpy(np.stack(masks))] = -torch.inf
    probs = torch.softmax(steps, -1)
    return probs[torch.arange(len(ans.token_ids)), gen[0]]


def test_event_confidence_equals_an_independent_forward_pass(fluent_adapter):
    pred = EventPredictor("tiny", fluent_adapter.adapter_dir)
    splits = load_latest(fluent_adapter)
    videos = [s["video"] for name in ("train", "val", "test") for s in splits[name] if s["task"] == "events"]
    tok = pred.processor.tokenizer
    confs = []
    for i, video in enumerate(videos):
        ans = pred.generate_scored(video, max_new_tokens=MAX_NEW)
        assert prompts.parse_events(ans.text) is not None  # constrained: it always parses
        if i == 0:  # the same greedy tokens as a plain constrained generate call without the logits
            inputs = pred.inputs(video)
            with torch.no_grad():
                plain = pred.model.generate(**inputs, max_new_tokens=MAX_NEW, do_sample=False,
                                            eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                                            pad_token_id=tok.pad_token_id,
                                            logits_processor=LogitsProcessorList([_plain_constraint(pred, video)]))
            assert plain[0, inputs["input_ids"].shape[1]:].tolist() == ans.token_ids
        p = _independent_token_probs(pred, video, ans)
        assert torch.allclose(torch.tensor(ans.logprobs, dtype=torch.float64).exp(), p, atol=1e-5, rtol=0)
        scored = pred.score(ans)
        assert scored["answer_confidence"] == pytest.approx(float(p[ans.tokens_in(0, len(ans.text))].prod()), abs=1e-5)
        for ev, sc in zip(scored["events"], scored["scores"]):
            assert ev["event"] in tok.decode([ans.token_ids[k] for k in sc["tokens"]])
            assert ev["confidence"] == pytest.approx(float(p[sc["tokens"]].prod()), abs=1e-5)
            assert ev["time_confidence"] == pytest.approx(float(p[sc["time_tokens"]].prod()), abs=1e-5)
            confs.append(ev["confidence"])
        if len(confs) >= 4 and i >= 3:
            break
    assert len(confs) >= 2, "the adapter answered no events to score"
    assert all(0 < c <= 1 for c in confs) and len(set(confs)) > 1, confs
    assert all(math.isfinite(math.log(c)) for c in confs)
