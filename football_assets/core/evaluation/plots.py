"""The report's pictures: the confusion matrix, the reliability diagram and per-class precision-recall
curves (matplotlib Agg, no display needed)."""

from __future__ import annotations

from pathlib import Path

from football_assets.core.fsutil import atomic_path


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

def plot_confidence(conf: dict, reliability_png: Path, pr_png: Path) -> None:
    """Reliability diagram (raw and calibrated, test) and per-class precision-recall curves (confidence
    swept), as PNGs; panels without data say so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5.5), dpi=100)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for key, label, style in (("reliability_raw", "raw", "o-"), ("reliability_calibrated", "calibrated on val", "s-")):
        rel = conf.get(key)
        if rel:
            pts = [(b["confidence"], b["accuracy"]) for b in rel["bins"] if b["n"]]
            ece = rel["ece"]
            ax.plot([x for x, _ in pts], [y for _, y in pts], style, label=f"{label} (ECE {ece:.3f})")
    if not conf.get("reliability_raw"):
        ax.text(0.5, 0.5, "no event with a confidence", ha="center")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean confidence in bin (10 equal-width bins)")
    ax.set_ylabel("fraction of true positives (tIoU matched)")
    ax.set_title("Reliability of event confidences (test)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    with atomic_path(reliability_png) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)

    curves = conf.get("pr_curves") or {}
    names = list(curves) or ["(none)"]
    cols = 4
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3 * rows), dpi=100, squeeze=False)
    for ax, name in zip(axes.flat, names):
        c = curves.get(name)
        if c and c["recall"]:
            ax.plot(c["recall"], c["precision"], "o-", markersize=3)
        else:
            ax.text(0.5, 0.5, "no prediction", ha="center")
        ax.set_title(f"{name} ({c['n_true'] if c else 0} true)", fontsize=9)
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall", fontsize=8)
        ax.set_ylabel("precision", fontsize=8)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle("Per-class precision-recall, confidence swept (test, tIoU matched)")
    fig.tight_layout()
    with atomic_path(pr_png) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
