"""The report as people read it: Markdown (also the asset's Dagster metadata) and self-contained HTML, from
the report JSON. The first table is the product: the predictor ``analyze`` uses by default beside the VLM
alone, the spotter alone and the best trivial baseline; the detail follows."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from football_assets.core import metrics
from football_assets.core.evaluation.scoring import HEADLINE


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
    loose = m["soccernet"]["loose"]
    per_tol = [[f"{float(t):g}", _fmt(v), "presence (tolerance above the clip length)"
                if float(t) in loose.get("presence_tolerances", []) else "timing"]
               for t, v in loose["mAP_per_tolerance"].items()]
    tables = [product_table(report)] if report.get("product") else []
    stages = report.get("stages") or {}
    tables += [
        ("Headline, side by side (val: where choices are made; test: reported only)", ["metric"] + cols, side),
        (f"Per class (tIoU >= {m['threshold']})", ["class", "true", "TP", "FP", "FN", "precision", "recall", "F1",
                                                    "tight a-mAP", "loose a-mAP"], per_class),
        ("Confusion matrix (rows true, columns predicted)", ["true \\ predicted"] + conf["labels"], cm),
        ("SoccerNet loose mAP per tolerance (this adapter, test)", ["tolerance s", "mAP", "measures"], per_tol),
    ]
    if stages.get("available"):
        keys = ("precision", "recall", "f1", "mean_tiou", "tight_a_mAP", "loose_a_mAP", "conf_auroc", "n_predicted")
        names = list(stages["columns"])
        tables.append((f"VLM only vs spotter vs cascade (test, {stages['n_clips']} clips; the cascade sent "
                       f"{stages['clips_sent_to_vlm']} to the VLM at spot confidence >= {stages['proposal_threshold']:.2f})",
                       ["metric"] + names, [[k] + [_fmt(stages["columns"][n].get(k)) for n in names] for k in keys]))
    conf = m.get("confidence") or {}
    if conf.get("reliability_raw"):
        rel_rows = []
        cal_bins = (conf.get("reliability_calibrated") or {}).get("bins") or [{}] * len(conf["reliability_raw"]["bins"])
        for b, c in zip(conf["reliability_raw"]["bins"], cal_bins):
            rel_rows.append([f"{b['lo']:.1f}-{b['hi']:.1f}", str(b["n"]), _fmt(b["confidence"]), _fmt(b["accuracy"]),
                             str(c.get("n", "n/a")), _fmt(c.get("confidence")), _fmt(c.get("accuracy"))])
        tables.append(("Event confidences (this adapter, test)", ["measure", "value"], [
            ["events with a confidence (true positives)", f"{conf['n_events']} ({conf.get('n_true_positive')})"],
            [f"AUROC, true vs false positives (tIoU >= {m['threshold']})", _fmt(conf["auroc"])],
            ["AUROC, right class at any overlap vs not (whether and what, not when)", _fmt(conf.get("auroc_overlap"))],
            ["ECE raw", _fmt(conf["ece_raw"])], ["ECE calibrated on val", _fmt(conf["ece_calibrated"])],
            ["tight a-mAP, every confidence 1.0", _fmt(m["soccernet"]["tight"]["a_mAP"])],
            ["tight a-mAP, the model's confidences", _fmt(conf["tight_a_mAP"])]]))
        tables.append(("Reliability (test): raw | calibrated", ["confidence bin", "n raw", "mean conf raw",
                                                               "accuracy raw", "n cal", "mean conf cal", "accuracy cal"],
                       rel_rows))
    if invalid:
        tables.append(("Unparseable answers (first 10)", ["sample", "task", "error", "answer"], invalid))
    return tables

def product_table(report: dict) -> tuple[str, list[str], list[list[str]]]:
    """The first table: what ``analyze`` runs by default beside the VLM alone, the spotter alone and the best
    trivial baseline, on the test split (``report.product``)."""
    rows = [[("**" + r["predictor"] + "** (default)") if r["default"] else r["predictor"]]
            + [_fmt(r.get(k)) for k in ("f1", "precision", "recall", "mean_tiou", "tight_a_mAP")] + [r["what"]]
            for r in report["product"]]
    return (f"What you get (test split, events matched at tIoU >= {report['metrics']['threshold']})",
            ["predictor", "event F1", "precision", "recall", "mean tIoU", "tight a-mAP", "what it is"], rows)


def _intro(report: dict) -> list[str]:
    m = report["metrics"]
    vj = m["valid_json"]
    return [
        f"Model version: {report.get('model_version')} (base {report.get('base_model')}), "
        f"splits {report.get('splits_version')}, created {report['created_at']}.",
        f"Samples per split: {report.get('n_samples') or {'test': vj['n']}}; choose anything (settings, thresholds) "
        "on val, test is only reported.",
        f"Test samples: {vj['n']} ({m['n_clips']} event answers over {m['n_true_events']} true events, "
        f"{m['grounding']['n']} class grounding questions, {(m.get('free_text_grounding') or {}).get('n', 0)} free-text "
        f"grounding questions); {vj['n'] - vj['valid']} answers were not valid JSON.",
        f"Previous adapter: {report.get('previous_model_version') or 'none'}"
        + (f" ({(report.get('previous') or {}).get('how')})" if (report.get("previous") or {}).get("how") else "") + ".",
        f"Regression gate: {report.get('gate', {}).get('description', 'not run')}",
    ]

#: The notes come after the report's leading table (what ``analyze`` gives), not before it.
NOTES_TITLE = "How to read the figures"


def _notes_before(report: dict) -> int:
    """Index of the table the notes are placed before: the one after the product table, else the first."""
    return 1 if report.get("product") else 0


def notes(report: dict) -> list[str]:
    """How to read the columns and the metrics that measure less than their name says."""
    m = report["metrics"]
    out = []
    if report.get("base_note"):
        out.append(report["base_note"])
    if report.get("baselines_note"):
        out.append(report["baselines_note"])
    loose = m["soccernet"]["loose"]
    if loose.get("presence_tolerances"):
        over = loose["presence_tolerances"]
        out.append(f"Loose a-mAP: {len(over)} of {len(loose['mAP_per_tolerance'])} tolerances ({over[0]:g}-{over[-1]:g} s) "
                   f"are above the clip length ({loose['clip_duration']:g} s); at those any same-class prediction in the "
                   "clip matches, so they measure class presence, not timing. The 'within the clip length' row keeps "
                   "only the others.")
    if (m.get("free_text_grounding") or {}).get("n"):
        out.append("Free-text grounding: one question per described event of a test clip, phrased from its description "
                   "(\"When does this happen: <description>?\"), right when the answered span has tIoU >= the threshold "
                   "with the event; class grounding asks \"When does the <class> happen?\" instead. "
                   + ("The adapter was trained on such questions." if report.get("free_text_trained") else
                      "This adapter's training data had no such questions (class questions only), so the figure "
                      "measures what class training transfers.")
                   + " Baselines answer with their interval of the described event's class.")
    cal = report.get("calibration")
    if cal:
        out.append(f"Confidence of an event: P(item opens) x P(class name tokens) from the greedy decode "
                   f"(core/inference/confidence.py); calibration: {cal['method']}, T {cal['temperature']:.3f}, "
                   f"bias {cal['bias']:.3f}, from {cal['n_events']} val events ({cal['n_true_positive']} true "
                   "positives), stored in the adapter's calibration.json. Rows without 'confidences' in their name "
                   "score every event at confidence 1.0, as before.")
    d = m["descriptions"]
    if d.get("prior_rougeL") is not None:
        out.append("Descriptions: the template prior puts the class's most typical train description in place of each "
                   "matched prediction; a model beats it only by reading the clip (team, side, player).")
    return out

def to_markdown(report: dict, png_name: str = "confusion.png") -> str:
    lines = [f"# Evaluation report: {report.get('model_version')}", ""]
    lines += [f"- {x}" for x in _intro(report)] + [""]
    for i, (title, header, rows) in enumerate(_tables(report)):
        if i == _notes_before(report):
            lines += [f"## {NOTES_TITLE}", ""] + [f"- {x}" for x in notes(report)] + [""]
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines += [f"## {title}", "", "| " + " | ".join(map(esc, header)) + " |",
                  "|" + "---|" * len(header)] + ["| " + " | ".join(map(esc, r)) + " |" for r in rows] + [""]
    stages = report.get("stages") or {}
    if stages.get("available"):
        lines += [f"![per-class precision-recall, spotter and cascade]({Path(stages['pr_png']).name})", ""]
        lines += [f"![timeline]({Path(p).name})" for p in stages.get("timeline_pngs", [])] + [""]
    elif stages.get("reason"):
        lines += [f"Spotter and cascade not shown: {stages['reason']}.", ""]
    lines += [f"![confusion matrix]({png_name})", "", "![reliability diagram](reliability.png)", "",
              "![per-class precision-recall](confidence_pr.png)", "", "## Metric definitions", "", "```", (metrics.__doc__ or "").strip(), "```", ""]
    return "\n".join(lines)

def to_html(report: dict, png: Path | None = None) -> str:
    parts = [f"<!doctype html><meta charset='utf-8'><title>Evaluation {html.escape(str(report.get('model_version')))}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}</style>",
             f"<h1>Evaluation report: {html.escape(str(report.get('model_version')))}</h1><ul>"]
    parts += [f"<li>{html.escape(x)}</li>" for x in _intro(report)] + ["</ul>"]
    for i, (title, header, rows) in enumerate(_tables(report)):
        if i == _notes_before(report):
            parts += [f"<h2>{NOTES_TITLE}</h2><ul>"] + [f"<li>{html.escape(x)}</li>" for x in notes(report)] + ["</ul>"]
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{html.escape(str(c).replace('**', ''))}</td>" for c in r) + "</tr>" for r in rows]
        parts.append("</table>")
    for title, path in (("Confusion matrix", png), ("Reliability diagram", png.parent / "reliability.png" if png else None),
                        ("Per-class precision-recall", png.parent / "confidence_pr.png" if png else None)):
        if path and path.exists():
            parts.append(f"<h2>{title}</h2><img alt='{title.lower()}' src='data:image/png;base64,"
                         f"{base64.b64encode(path.read_bytes()).decode()}'>")
    parts.append(f"<h2>Metric definitions</h2><pre>{html.escape((metrics.__doc__ or '').strip())}</pre>")
    return "\n".join(parts)
