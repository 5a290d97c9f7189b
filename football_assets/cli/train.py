"""``football-events train``: ``--dry-run`` prints the preflight plan (CPU, no weights, seconds) for a model
and a GPU profile; ``--config cfg.json`` runs the trainer on a training config JSON.

The model and profile default to the deployment's (``FOOTBALL_MODEL`` / ``COSMOS_REASON1_PATH``,
``FOOTBALL_GPU_PROFILE``), exactly as the ``lora_adapter`` asset picks them; ``--set key=value`` (JSON
values) plays the run config. Exit status 2 when the plan is refused, with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from resources import environment


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="football-events train", description=__doc__.split("\n\n")[0])
    p.add_argument("--dry-run", action="store_true", help="print the preflight plan and the settings, train nothing")
    p.add_argument("--config", help="training config JSON to train on (what the lora_adapter asset writes)")
    p.add_argument("--model", default=None, help="model name (default: the deployment's)")
    p.add_argument("--profile", default=environment.gpu_profile(), help="GPU profile (default: FOOTBALL_GPU_PROFILE, else cpu)")
    p.add_argument("--gpus", type=int, default=environment.gpus(), help="processes (ZeRO-2 shards over them)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting (run config)")
    return p


def dry_run(args: argparse.Namespace) -> int:
    from football_assets.core.inference.serving import vllm_command
    from football_assets.core.training import preflight, presets
    from football_assets.core.training.train_args import resolve

    overrides = {}
    for item in args.set:
        key, sep, val = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        overrides[key] = _value(val)
    model = presets.select_model(args.model, environment.model() or None, environment.model_path() or None)
    values, sources = resolve(overrides, model, args.profile)
    plan = preflight.plan(values, args.profile, args.gpus, presets.PROFILE_MEMORY_GB.get(args.profile))
    print(preflight.format_plan(plan))
    print("settings (value <- source: default, preset, profile, run config):")
    for k in sorted(values):
        print(f"  {k} = {json.dumps(values[k])} <- {sources[k]}")
    if values.get("serve_with_vllm"):
        print("serve the adapter with vLLM at the training video budget:")
        print("    " + vllm_command(values))
        if values.get("timestamps"):
            print("timestamps on: vLLM cannot draw the frame times; send each clip as serving.vllm_video renders it")
    if plan.problems:
        print(f"error: preflight refused {model} on {args.profile}: "
              + "; ".join(plan.problems), file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.dry_run:
        try:
            return dry_run(args)
        except ValueError as exc:  # unknown model / profile, tiny with a weights path, bad --set
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.config:
        from football_assets.core.training.train import main as train_main

        return train_main(["--config", args.config])
    build_parser().error("give --dry-run (the preflight plan) or --config CFG.json (train)")
    return 2


if __name__ == "__main__":
    sys.exit(main())
