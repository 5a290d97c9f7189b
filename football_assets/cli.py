"""``football-events`` console script: ``demo`` runs the whole asset graph on the built-in demo."""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="football-events", description="football video -> match events")
    parser.add_argument("command", choices=["demo"], help="demo: materialize the whole graph on the manifest's clips")
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        from football_assets.run_demo import main as demo_main

        return demo_main(rest)
    return 2


if __name__ == "__main__":
    sys.exit(main())
