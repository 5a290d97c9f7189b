"""``football-events review``: the match review page on http://127.0.0.1:8765 over the data directory
(``football_assets/review/``; docs/review.md says how an analyst uses it).

It lists the kept analyses (``<data>/analyses/``, plus any ``analyze --out`` file given with ``--analysis``) and
the clips with annotations or predictions; shows one video with a per-class timeline of truth and model
events, the event list, search, highlight reels, and runs ``analyze`` on uploaded or ``incoming/`` videos in
the background, one job at a time. It binds 127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys

from resources import environment


def build_parser() -> argparse.ArgumentParser:
    from football_assets.review.app import DEFAULT_MAX_UPLOAD_MB

    p = argparse.ArgumentParser(prog="football-events review", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--data-dir", default="", help="data root (default: FOOTBALL_DATA_DIR or ./data)")
    p.add_argument("--analysis", action="append", default=[], metavar="FILE",
                   help="also list this `analyze --out` JSON (repeatable)")
    p.add_argument("--label-studio-url", default=environment.label_studio()[0],
                   help="Label Studio server, for links from each clip to its task (default: LABEL_STUDIO_URL)")
    p.add_argument("--label-studio-project", type=int, default=environment.label_studio_project_id(),
                   help="the Label Studio project id of the clips' tasks (default: LABEL_STUDIO_PROJECT_ID)")
    p.add_argument("--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD_MB, help="largest upload accepted")
    p.add_argument("--spotter", default=None, help="spotter for page jobs (default: <data>/models/event_spotter)")
    p.add_argument("--adapter", default=None, help="LoRA adapter for page jobs (default: <data>/models/lora_adapter)")
    p.add_argument("--device", default="auto", help="torch device for page jobs (auto: cuda where visible)")
    return p


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from football_assets.core.layout import DataLayout
    from football_assets.review.app import ReviewConfig, create_app
    from football_assets.review.jobs import AnalyzeSettings

    args = build_parser().parse_args(argv)
    layout = DataLayout.at(args.data_dir)
    if not layout.root.is_dir():
        print(f"error: data directory {layout.root} does not exist", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = AnalyzeSettings(args.spotter or str(layout.spotter_dir), args.adapter or str(layout.adapter_dir),
                               args.device)
    app = create_app(ReviewConfig(layout.root, tuple(args.analysis), args.label_studio_url, args.label_studio_project,
                                  int(args.max_upload_mb * (1 << 20)), settings))
    print(f"review page: http://{args.host}:{args.port}/ (data {layout.root})", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
