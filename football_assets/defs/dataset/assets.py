"""annotations + clips_4fps -> sft_splits, guarded by blocking checks. Thin wiring around ``core/dataset``.

The data version is a hash of what the samples are made from (the chosen annotations, the clips' bytes
and paths, the configuration and the format version), so re-materializing with unchanged inputs gives
the same version and downstream training can be skipped. ``splits/LATEST`` moves to a version only
after all checks pass: a leaking or malformed split is never what training reads.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)

from football_assets.core.annotation import snapshots
from football_assets.core.dataset import assign, checks, store
from football_assets.core.dataset.sft import SampleMix, build_samples, chosen_events, group_classes
from football_assets.core.fsutil import read_json
from football_assets.core.ingest import catalog
from football_assets.core.layout import DataLayout
from resources import DataDirResource


class SftSplitsConfig(Config):
    """Sample mix and split fractions (defaults used by the demo and ``training_job``)."""

    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    events_task: bool = True
    grounding_positives: int = -1  # per clip, -1: every class that occurs exactly once
    grounding_negatives: int = 1  # hard-negative "does not occur" questions per clip
    free_text_questions: int = -1  # per clip, questions phrased from descriptions (-1: every unique one, 0: none)
    reasoning: bool = False  # Cosmos-Reason1 <think>/<answer> answers


def input_version(snapshot, clips: list[dict], mix: SampleMix, cfg: assign.SplitConfig) -> str:
    """Hash of exactly what the splits are built from; unchanged inputs -> unchanged version."""
    chosen = chosen_events(snapshot.events, snapshot.tasks)
    sources = dict(zip(snapshot.tasks["clip_id"].astype(str), snapshot.tasks["source_id"].astype(str)))
    used = sorted((c["clip_id"], c["sha256"], c["path"], c.get("source_id")) for c in clips if c["clip_id"] in chosen)
    return store.version_of(store.FORMAT_VERSION, sorted(chosen.items()), sorted(sources.items()), used,
                             mix.to_dict(), cfg.to_dict())


@asset(
    group_name="dataset",
    kinds={"pandas", "json"},
    deps=[AssetKey("annotations"), AssetKey("clips_4fps")],
    code_version=store.FORMAT_VERSION,
    description="Chat-format SFT samples (video + instruction -> JSON events; grounding questions with hard "
                "negatives; free-text grounding questions phrased from descriptions) split train/val/test by source match; JSONL + LLaMA-Factory export under "
                "<data>/splits/<version>/.",
    check_specs=[AssetCheckSpec(name, asset="sft_splits", blocking=True, description=d)
                 for name, d in checks.CHECKS.items()],
)
def sft_splits(context: AssetExecutionContext, config: SftSplitsConfig, storage: DataDirResource) -> MaterializeResult:
    layout = DataLayout.at(storage.root)
    snapshot = snapshots.load_latest(layout)
    clips = catalog.list_clips(layout)
    mix = SampleMix(events=config.events_task, grounding_positives=config.grounding_positives,
                    grounding_negatives=config.grounding_negatives, free_text=config.free_text_questions,
                    reasoning=config.reasoning, seed=config.seed)
    cfg = assign.SplitConfig(seed=config.seed, val=config.val_fraction, test=config.test_fraction)
    version = input_version(snapshot, clips, mix, cfg)
    dest = layout.splits_dir / version
    cached = (dest / "manifest.json").exists()
    if cached:
        context.log.info(f"splits {version} already built from the same inputs; reusing them")
        skipped = read_json(dest / "manifest.json", {}).get("skipped", {})
    else:
        built = build_samples(snapshot.events, snapshot.tasks, clips, mix)
        skipped = built.skipped
        assignment = assign.assign_splits(group_classes(built.samples), cfg)
        by_split = assign.split_samples(built.samples, assignment)
        store.write_version(dest, by_split, {
            "version": version, "format": store.FORMAT_VERSION, "annotations_version": snapshot.version,
            "mix": mix.to_dict(), "split_config": cfg.to_dict(), "assignment": assignment, "skipped": skipped,
            "counts": {s: len(v) for s, v in by_split.items()},
        })
    written = store.read_version(dest)  # check what readers will read, not what we meant to write
    outcomes = checks.run_checks(written, {c["clip_id"]: c["sha256"] for c in clips})
    passed = all(o.passed for o in outcomes)
    if passed:
        store.set_latest(layout.splits_dir, version)
    else:
        context.log.error("sft_splits checks failed; splits/LATEST not moved: "
                          + "; ".join(f"{o.name}: {o.description}" for o in outcomes if not o.passed))
    summary = store.summary_frame(written)
    return MaterializeResult(
        metadata={
            "summary": MetadataValue.md(store.to_markdown(summary)),
            "version": version, "annotations_version": snapshot.version, "path": MetadataValue.path(str(dest)),
            "train": len(written["train"]), "val": len(written["val"]), "test": len(written["test"]),
            "clips": int(summary.loc["clips", "total"]), "sources": int(summary.loc["sources", "total"]),
            "skipped_clips": len(skipped), "cached": cached, "latest_moved": passed,
            "llamafactory": MetadataValue.path(str(dest / "llamafactory" / "dataset_info.json")),
        },
        data_version=DataVersion(version),
        check_results=[AssetCheckResult(check_name=o.name, passed=o.passed, asset_key=AssetKey("sft_splits"),
                                        severity=AssetCheckSeverity.ERROR, description=o.description,
                                        metadata={k: v for k, v in o.metadata.items()})
                       for o in outcomes],
    )
