"""Answering SFT samples with a predictor: the exact training prompt, a per-task answer budget, and the
free-text grounding questions a split's descriptions give."""

from __future__ import annotations

from typing import Callable, Sequence

from football_assets.core import prompts
from football_assets.core.inference import confidence


def user_instruction(sample: dict) -> str:
    """The text part of the sample's user turn: the exact training prompt."""
    for part in sample["messages"][1]["content"]:
        if part.get("type") == "text":
            return part["text"]
    raise ValueError(f"sample {sample.get('id')}: user turn has no text part")

def answer_budgets(tokenizer, samples: Sequence[dict]) -> dict[str, int]:
    """Per task, 1.5 x the longest reference answer in tokens + 16: a model that has not learnt to stop
    (the base model) would otherwise generate to the predictor's limit on every sample, and a longer
    answer than that could not be right anyway."""
    longest: dict[str, int] = {}
    for s in samples:
        ref = s["messages"][-1]["content"] if s["messages"][-1]["role"] == "assistant" else ""
        n = len(tokenizer(ref, add_special_tokens=False)["input_ids"]) if isinstance(ref, str) else 0
        longest[s["task"]] = max(longest.get(s["task"], 0), n)
    return {task: int(1.5 * n) + 16 for task, n in longest.items()}


def free_text_samples(samples: Sequence[dict]) -> list[dict]:
    """Free-text grounding samples derived from the split's events samples: one per described event whose
    description is unique in its clip. A split that already has such samples (SFT splits made since they
    are trained on) gets none added, so the figure stays comparable either way."""
    if any(s["task"] == prompts.FREE_TEXT_TASK for s in samples):
        return []
    out = []
    for s in samples:
        if s["task"] != "events":
            continue
        for sid, question, target in prompts.free_text_questions(s["clip_id"], s["target"]):
            out.append({**{k: v for k, v in s.items() if k not in ("id", "task", "messages", "target")},
                        "id": sid, "task": prompts.FREE_TEXT_TASK, "target": target,
                        "messages": prompts.build_messages(s["video"], prompts.free_grounding_question(question),
                                                           prompts.format_target(prompts.FREE_TEXT_TASK, target))})
    return out

def run_predictor(predictor, samples: Sequence[dict], max_new_tokens: int | None = None,
                  progress: Callable[[int, int], None] | None = None, tokenizer=None) -> list[dict]:
    """Greedy answers of ``predictor`` (a ``predictor.Predictor``) to every sample, with the training prompt,
    and for events answers each event's confidence from the same decode. Answers are capped at
    ``max_new_tokens``, else (given the model's ``tokenizer``) at ``answer_budgets``. Samples go to the
    predictor ``BATCH_SIZE`` at a time (``generate_scored_many``)."""
    from football_assets.core.inference.predictor import BATCH_SIZE, Request

    budgets = {} if max_new_tokens or tokenizer is None else answer_budgets(tokenizer, samples)
    records = []
    for start in range(0, len(samples), BATCH_SIZE):
        chunk = samples[start:start + BATCH_SIZE]
        requests = [Request(s["video"], float(s.get("fps", 4)), user_instruction(s),
                            max_new_tokens or budgets.get(s["task"], Request.max_new_tokens)) for s in chunk]
        for s, ans in zip(chunk, predictor.generate_scored_many(requests)):
            rec = {"id": s["id"], "clip_id": s["clip_id"], "task": s["task"], "target": s["target"], "raw": ans.text}
            if s["task"] == "events":
                out = confidence.score_answer(ans)
                rec["scores"] = [{k: e[k] for k in ("raw_logp", "raw_confidence", "time_confidence")} for e in out["events"]]
                rec["answer_confidence"] = out["answer_confidence"]
            records.append(rec)
            if progress:
                progress(len(records), len(samples))
    return records
