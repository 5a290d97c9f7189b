"""The evaluation report's structure: ``predictor · split`` columns side by side and the report JSON.

The jobs around it have their own modules: ``answers`` (running a predictor over samples), ``scoring``
(metrics, confidences, calibration fit), ``cascade_report`` (VLM only vs spotter vs cascade), ``gate`` (the
regression gate), ``plots`` and ``render`` (pictures, Markdown, HTML), ``store`` (where reports live) and
``evaluate`` (the asset's whole pass).

The report is what decides whether an adapter ships, so every number comes with what it should be read
against: val and test side by side (choices are made on val; test is only reported), the base model
without adapter (for ``tiny``: the same demo-pretrained base the adapter was trained on), the previous
adapter scored on this very test split, and the trivial predictors of ``baselines``. It keeps every
unparseable answer visible (counted, with examples) and never crashes on one.

Columns are ``predictor · split``; a new predictor (e.g. a spotter) is one more entry in the
``{split: {predictor: headline}}`` table that ``build_report`` takes.
"""

from __future__ import annotations

import time

from football_assets.core.evaluation.scoring import headline

REPORT_FORMAT = "evaluation-report-v2"

SPLITS = ("val", "test")

ADAPTER = "this adapter"

def previous_label(previous: dict) -> str:
    return f"previous adapter ({previous.get('model_version', '?')})"

def base_label(info: dict) -> str:
    return f"base model without adapter ({info.get('base_model', '?')})"

def flat_columns(table: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """``{split: {predictor: headline}}`` -> ``{"predictor · split": headline}``, each predictor's splits
    side by side, predictors in order of first appearance, splits in ``SPLITS`` order."""
    order: list[str] = []
    for split in ["test"] + [s for s in table if s != "test"]:  # test lists every predictor that was compared
        for name in table.get(split, {}):
            if name not in order:
                order.append(name)
    splits = list(SPLITS) + [s for s in table if s not in SPLITS]
    return {f"{name} · {split}": table[split][name] for name in order for split in splits if name in table.get(split, {})}

def build_report(current: dict, info: dict, previous: dict | None = None, base: dict | None = None,
                 table: dict[str, dict[str, dict]] | None = None, val: dict | None = None) -> dict:
    """The report JSON. ``current``: the adapter's test ``score_records`` output (the headline);
    ``val``: the same on val; ``base``: the base model's on test; ``previous``: the previous adapter as
    scored on this test split (``headline``, ``model_version``, optional ``comparable``/``how``) or None;
    ``table``: more columns ``{split: {predictor: headline}}`` (base on val, baselines, ...);
    ``info``: model_version, base_model, splits_version, ..."""
    cols: dict[str, dict[str, dict]] = {split: {} for split in SPLITS}
    if val is not None:
        cols["val"][ADAPTER] = headline(val)
    cols["test"][ADAPTER] = headline(current)
    if previous and previous.get("headline") and previous.get("comparable", True):
        cols["test"][previous_label(previous)] = previous["headline"]
    if base:
        cols["test"][base_label(info)] = headline(base)
    for split, row in (table or {}).items():
        for name, h in row.items():
            cols.setdefault(split, {})[name] = h
    cols = {k: v for k, v in cols.items() if v}
    return {
        "format": REPORT_FORMAT, **info, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "headline": headline(current), "val_headline": headline(val) if val is not None else None,
        "metrics": current, "splits": cols, "comparison": flat_columns(cols),
        "previous_model_version": previous.get("model_version") if previous else None,
        "previous_splits_version": previous.get("splits_version") if previous else None,
        "previous": previous,
        "base_headline": headline(base) if base else None,
        "product": product(info.get("stages") or {}, cols.get("test", {})),
    }


#: One line each: what a row of the product table is.
WHAT = {
    "cascade": "what `football-events analyze` runs by default: the spotter times the events, the VLM names and "
               "describes them (only windows the spotter proposes reach the VLM)",
    "VLM only": "the fine-tuned vision-language model alone, on every clip",
    "spotter": "the per-frame spotter alone: times and classes, no descriptions",
}


def product(stages: dict, test_columns: dict[str, dict]) -> list[dict]:
    """The report's first table, on the test split: the predictor ``analyze`` uses by default (the cascade when
    a spotter of these splits exists, else the VLM alone), the VLM alone, the spotter alone and the best trivial
    baseline (by event F1), each with one line saying what it is."""
    from football_assets.core.evaluation.baselines import BASELINES, DESCRIPTIONS

    keys = ("f1", "precision", "recall", "mean_tiou", "tight_a_mAP")
    rows = []
    if stages.get("available"):
        for name in ("cascade", "VLM only", "spotter"):
            col = stages["columns"][name]
            rows.append({"predictor": name, "what": WHAT[name], "default": name == "cascade",
                         **{k: col.get(k) for k in keys}})
    elif ADAPTER in test_columns:
        h = test_columns[ADAPTER]
        rows.append({"predictor": "VLM only", "default": True, "what": WHAT["VLM only"] + " (what `analyze` runs "
                     f"while no spotter of these splits exists: {stages.get('reason', 'no spotter')})",
                     "f1": h.get("micro_f1"), "precision": h.get("precision"), "recall": h.get("recall"),
                     "mean_tiou": h.get("mean_tiou"), "tight_a_mAP": h.get("tight_a_mAP")})
    trivial = [(name, h) for name, h in test_columns.items() if name in BASELINES]
    if trivial:
        name, h = max(trivial, key=lambda nh: nh[1].get("micro_f1") or 0.0)
        rows.append({"predictor": f"best trivial baseline: {name}", "default": False, "what": DESCRIPTIONS[name],
                     "f1": h.get("micro_f1"), "precision": h.get("precision"), "recall": h.get("recall"),
                     "mean_tiou": h.get("mean_tiou"), "tight_a_mAP": h.get("tight_a_mAP")})
    return rows
