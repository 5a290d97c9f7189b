"""The evaluation report: run a predictor over SFT samples, score the answers, write Markdown/JSON/HTML.

The report is what decides whether an adapter ships, so it shows the new adapter side by side with the
previous adapter's report and with the base model without adapter, keeps every unparseable answer
visible (counted, with examples) and never crashes on one.
"""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

from football_assets.core.evaluation import metrics

from football_assets.core import prompts
from football_assets.core.fsutil import atomic_path, write_json

REPORT_FORMAT = "evaluation-report-v1"

#: Headline numbers (key, label, higher is better) shown side by side and used by the regression gate.
HEADLINE = (
    ("micro_f1", "Event F1 (micro)"),
    ("macro_f1", "Event F1 (macro)"),
    ("precision", "Event precision (micro)"),
    ("recall", "Event recall (micro)"),
    ("mean_tiou", "Mean tIoU of matches"),
    ("presence_f1", "Class presence F1 (clip level)"),
    ("tight_a_mAP", "SoccerNet tight average-mAP (1-5 s)"),
    ("loose_a_mAP", "SoccerNet loose average-mAP (5-60 s)"),
    ("rougeL", "Description ROUGE-L"),
    ("bleu", "Description BLEU"),
    ("valid_json_rate", "Valid-JSON rate"),
    ("grounding_accuracy", "Grounding accuracy"),
)


def user_instruction(sample: dict) -> str:
    """The text part of the sample's user turn: the exact training prompt."""
    for part in sample["messages"][1]["content"]:
        if part.get("type") == "text":
            return part["text"]
    raise ValueError(f"sample {sample.get('id')}: user turn has no text part")


def answer_budgets(predictor, samples: Sequence[dict]) -> dict[str, int]:
    """Per task, 1.5 x the longest reference answer in tokens + 16: a model that has not learnt to stop
    (the base model) would otherwise generate to the predictor's limit on every sample, and a longer
    answer than that could not be right anyway."""
    tok = getattr(getattr(predictor, "processor", None), "tokenizer", None)
    if tok is None:
        return {}
    longest: dict[str, int] = {}
    for s in samples:
        ref = s["messages"][-1]["content"] if s["messages"][-1]["role"] == "assistant" else ""
        n = len(tok(ref, add_special_tokens=False)["input_ids"]) if isinstance(ref, str) else 0
        longest[s["task"]] = max(longest.get(s["task"], 0), n)
    return {task: int(1.5 * n) + 16 for task, n in longest.items()}


def run_predictor(predictor, samples: Sequence[dict], max_new_tokens: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Greedy answers of ``predictor`` (an ``EventPredictor``) to every sample, with the training prompt;
    answers are capped at ``max_new_tokens`` or else at ``answer_budgets``."""
    budgets = {} if max_new_tokens else answer_budgets(predictor, samples)
    records = []
    for i, s in enumerate(samples):
        kwargs = {"fps": float(s.get("fps", 4)), "instruction": user_instruction(s)}
        if max_new_tokens or s["task"] in budgets:
            kwargs["max_new_tokens"] = max_new_tokens or budgets[s["task"]]
        raw = predictor.generate(s["video"], **kwargs)
        records.append({"id": s["id"], "clip_id": s["clip_id"], "task": s["task"], "target": s["target"], "raw": raw})
        if progress:
            progress(i + 1, len(samples))
    return records


def score_records(records: Iterable[dict], threshold: float = 0.5) -> dict:
    """All metrics of answered samples (``run_predictor`` output). Unparseable answers count as invalid
    JSON and as no prediction."""
    clips, grounding, invalid = {}, [], []
    n = 0
    for r in records:
        n += 1
        try:
            parsed = prompts.parse_answer(r["task"], r["raw"])
        except (prompts.AnswerParseError, ValueError) as exc:
            parsed = None
            invalid.append({"id": r["id"], "task": r["task"], "error": str(exc)[:300], "raw": str(r["raw"])[:300]})
        if r["task"] == "events":
            clips[r["id"]] = (list(r["target"]), parsed or [])
        else:
            grounding.append((r["target"], parsed))
    out = metrics.event_metrics(clips, threshold)
    out["valid_json"] = {"rate": metrics.rate(n - len(invalid), n), "valid": n - len(invalid), "n": n,
                         "invalid_examples": invalid[:10]}
    out["grounding"] = metrics.grounding_accuracy(grounding, threshold)
    out["threshold"] = threshold
    return out


def headline(m: dict | None) -> dict:
    """The flat headline numbers of one metrics dict (None where undefined)."""
    if not m:
        return {}
    det = m["detection"]
    return {
        "micro_f1": det["micro"]["f1"], "macro_f1": det["macro"]["f1"],
        "precision": det["micro"]["precision"], "recall": det["micro"]["recall"], "mean_tiou": det["mean_tiou"],
        "presence_f1": m["presence"]["f1"],
        "tight_a_mAP": m["soccernet"]["tight"]["a_mAP"], "loose_a_mAP": m["soccernet"]["loose"]["a_mAP"],
        "rougeL": m["descriptions"]["rougeL"], "bleu": m["descriptions"]["bleu"],
        "valid_json_rate": m["valid_json"]["rate"], "grounding_accuracy": m["grounding"]["accuracy"],
    }


def build_report(current: dict, info: dict, previous: dict | None = None, base: dict | None = None) -> dict:
    """The report JSON. ``current``/``base``: ``score_records`` output; ``previous``: an earlier report
    (its own JSON) or None; ``info``: model_version, base_model, splits_version, ..."""
    columns = {"this adapter": headline(current)}
    if previous:
        columns[f"previous adapter ({previous.get('model_version', '?')})"] = previous.get("headline", {})
    if base:
        columns[f"base model without adapter ({info.get('base_model', '?')})"] = headline(base)
    return {
        "format": REPORT_FORMAT, **info, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "headline": headline(current), "metrics": current, "comparison": columns,
        "previous_model_version": previous.get("model_version") if previous else None,
        "previous_splits_version": previous.get("splits_version") if previous else None,
        "base_headline": headline(base) if base else None,
    }


def regression_gate(report: dict, previous: dict | None, margin: float, key: str = "micro_f1") -> tuple[bool, str]:
    """Pass unless ``key`` dropped by more than ``margin`` against the previous adapter's report."""
    if not previous:
        return True, "no previous adapter report: nothing to compare against"
    new, old = report["headline"].get(key), previous.get("headline", {}).get(key)
    if old is None or new is None:
        return True, f"{key} undefined in one report (new {new}, previous {old})"
    ok = new >= old - margin
    verdict = "within" if ok else "beyond"
    return ok, (f"{key} {new:.4f} vs previous {old:.4f} ({previous.get('model_version')}): change {new - old:+.4f}, "
                f"{verdict} the allowed drop of {margin:.4f}")


# ---------------------------------------------------------------------------------------------------
# Writing


def plot_confusion(confusion: dict, dest: Path, title: str = "Event confusion (tIoU matched)") -> None:
    """Confusion-matrix PNG (matplotlib Agg, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels, m = confusion["labels"], np.array(confusion["matrix"])
    fig, ax = plt.subplots(figsize=(7.5, 6.5), dpi=100)
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted (none = missed)")
    ax.set_ylabel("true (none = spurious prediction)")
    ax.set_title(title)
    top = m.max() if m.size else 0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", color="white" if m[i, j] > top / 2 else "black")
    fig.tight_layout()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _tables(report: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table, shared by the Markdown and HTML writers."""
    m = report["metrics"]
    cols = list(report["comparison"])
    side = [[label] + [_fmt(report["comparison"][c].get(k)) for c in cols] for k, label in HEADLINE]
    truth = set(m["soccernet"]["tight"]["classes_with_truth"])
    per_class = []
    for c, v in m["detection"]["per_class"].items():
        seen = v["support"] + v["fp"] > 0  # P/R/F1 undefined for a class neither true nor predicted
        per_class.append([c, str(v["support"]), str(v["tp"]), str(v["fp"]), str(v["fn"])]
                         + [_fmt(v[k]) if seen else "n/a" for k in ("precision", "recall", "f1")]
                         + [_fmt(m["soccernet"][t]["a_mAP_per_class"].get(c)) if c in truth else "n/a (0 in mean)"
                            for t in ("tight", "loose")])
    conf = m["confusion"]
    cm = [[lab] + [str(x) for x in row] for lab, row in zip(conf["labels"], conf["matrix"])]
    invalid = [[x["id"], x["task"], x["error"], x["raw"][:120]] for x in m["valid_json"]["invalid_examples"]]
    tables = [
        ("Headline, side by side", ["metric"] + cols, side),
        (f"Per class (tIoU >= {m['threshold']})", ["class", "true", "TP", "FP", "FN", "precision", "recall", "F1",
                                                    "tight a-mAP", "loose a-mAP"], per_class),
        ("Confusion matrix (rows true, columns predicted)", ["true \\ predicted"] + conf["labels"], cm),
    ]
    if invalid:
        tables.append(("Unparseable answers (first 10)", ["sample", "task", "error", "answer"], invalid))
    return tables


def _intro(report: dict) -> list[str]:
    m = report["metrics"]
    vj = m["valid_json"]
    return [
        f"Model version: {report.get('model_version')} (base {report.get('base_model')}), "
        f"splits {report.get('splits_version')}, created {report['created_at']}.",
        f"Test samples: {vj['n']} ({m['n_clips']} event answers over {m['n_true_events']} true events, "
        f"{m['grounding']['n']} grounding questions); {vj['n'] - vj['valid']} answers were not valid JSON.",
        f"Previous adapter: {report.get('previous_model_version') or 'none'}"
        + (f" (evaluated on splits {report.get('previous_splits_version')})"
           if report.get("previous_splits_version") not in (None, report.get("splits_version")) else "") + ".",
        f"Regression gate: {report.get('gate', {}).get('description', 'not run')}",
    ]


def to_markdown(report: dict, png_name: str = "confusion.png") -> str:
    lines = [f"# Evaluation report: {report.get('model_version')}", ""]
    lines += [f"- {x}" for x in _intro(report)] + [""]
    for title, header, rows in _tables(report):
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines += [f"## {title}", "", "| " + " | ".join(map(esc, header)) + " |",
                  "|" + "---|" * len(header)] + ["| " + " | ".join(map(esc, r)) + " |" for r in rows] + [""]
    lines += [f"![confusion matrix]({png_name})", "", "## Metric definitions", "", "```", (metrics.__doc__ or "").strip(), "```", ""]
    return "\n".join(lines)


def to_html(report: dict, png: Path | None = None) -> str:
    parts = [f"<!doctype html><meta charset='utf-8'><title>Evaluation {html.escape(str(report.get('model_version')))}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}</style>",
             f"<h1>Evaluation report: {html.escape(str(report.get('model_version')))}</h1><ul>"]
    parts += [f"<li>{html.escape(x)}</li>" for x in _intro(report)] + ["</ul>"]
    for title, header, rows in _tables(report):
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows]
        parts.append("</table>")
    if png and png.exists():
        parts.append(f"<h2>Confusion matrix</h2><img alt='confusion matrix' src='data:image/png;base64,"
                     f"{base64.b64encode(png.read_bytes()).decode()}'>")
    parts.append(f"<h2>Metric definitions</h2><pre>{html.escape((metrics.__doc__ or '').strip())}</pre>")
    return "\n".join(parts)


def write_report(report: dict, out_dir: Path) -> dict[str, Path]:
    """Write report.json, report.md, report.html and confusion.png into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / n for k, n in (("json", "report.json"), ("markdown", "report.md"),
                                         ("html", "report.html"), ("confusion", "confusion.png"))}
    plot_confusion(report["metrics"]["confusion"], paths["confusion"])
    write_json(paths["json"], report)
    for key, text in (("markdown", to_markdown(report)), ("html", to_html(report, paths["confusion"]))):
        with atomic_path(paths[key]) as tmp:
            tmp.write_text(text)
    return paths


# ---------------------------------------------------------------------------------------------------
# Evaluating the trained adapter on the latest test split (the evaluation_report asset's logic)


def reports_root(layout) -> Path:
    return Path(layout.reports_dir) / "evaluation"


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name)) or "unnamed"


def previous_report(layout, model_version: str) -> dict | None:
    """The newest stored report of a different model version (the previous adapter), or None."""
    from football_assets.core.fsutil import read_json

    found = []
    for p in reports_root(layout).glob("*/report.json"):
        try:
            r = read_json(p)
        except ValueError:
            continue
        if r and r.get("model_version") != model_version:
            found.append(r)
    return max(found, key=lambda r: r.get("created_at", "")) if found else None


def evaluate_adapter(layout, adapter_dir: Path | str | None = None, threshold: float = 0.5, compare_base: bool = True,
                     device: str | None = None, max_new_tokens: int | None = None, max_samples: int | None = None,
                     log: Callable[[str], None] = print) -> tuple[dict, list[dict]]:
    """Answer the latest test split with the adapter (and, cached per splits version, the base model
    without adapter); return ``(report, adapter answers)``. The gate is filled in by the caller."""
    from football_assets.core.inference.analyze import load_predictor
    from football_assets.core.fsutil import read_json
    from football_assets.core.dataset.store import load_latest

    splits = load_latest(layout)
    test = list(splits["test"])[: max_samples or None]
    if not test:
        raise ValueError(f"test split of splits version {splits.version} is empty: nothing to evaluate")
    adapter_dir = Path(adapter_dir or layout.adapter_dir)

    def progress(label):
        step = max(1, len(test) // 10)
        return lambda i, n: log(f"{label}: {i}/{n} test samples answered") if i % step == 0 or i == n else None

    predictor, version, base = load_predictor(adapter_dir, None, device)
    records = run_predictor(predictor, test, max_new_tokens, progress(f"adapter {version}"))
    del predictor
    base_scores = None
    if compare_base:
        cache = reports_root(layout) / "base" / f"{_safe(base)}-{_safe(splits.version)}-{len(test)}.json"
        base_records = read_json(cache)
        if base_records is None:
            base_predictor, _, _ = load_predictor(None, base, device)
            base_records = run_predictor(base_predictor, test, max_new_tokens, progress(f"base {base}"))
            del base_predictor
            write_json(cache, base_records)
        base_scores = score_records(base_records, threshold)
    info = {"model_version": version, "base_model": base, "splits_version": splits.version,
            "adapter_dir": str(adapter_dir), "n_test_samples": len(test), "threshold": threshold}
    return build_report(score_records(records, threshold), info, previous_report(layout, version), base_scores), records


def save_report(layout, rep: dict, records: list[dict]) -> dict[str, Path]:
    """Write the report under ``<data>/reports/evaluation/<model_version>/`` (+ answers.jsonl, LATEST)."""
    out = reports_root(layout) / _safe(rep["model_version"])
    paths = write_report(rep, out)
    paths["answers"] = out / "answers.jsonl"
    with atomic_path(paths["answers"]) as tmp:
        import json

        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    with atomic_path(reports_root(layout) / "LATEST", suffix="") as tmp:
        tmp.write_text(out.name + "\n")
    return paths
