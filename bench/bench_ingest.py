"""Ingest benchmark: the real user path end to end against bare ffmpeg, side by side, on the same clips.
Prints the figures and writes them to bench/RESULTS.md (section "## Ingest").

1. ``football-events demo --ingest-only`` (a fresh Dagster instance on disk, a manifest of local files,
   the CLI in its own process: imports, registration, the batched runs, every instance write) / the bare
   ffmpeg transcode of the same raw files with the same arguments, as many at a time as the CLI's
   worker pool (the cores). Goals: <= 1.5 on 64 demo-sized clips, <= 1.15 on 16 clips of 30 s 720p25.
2. Clips encoded when one clip is added to 50 (goal: exactly 1), through the sources sensor's request.
3. The ingest phase of a re-run after a complete one / the first run (goal <= 10%).
Each pair is measured ``--repeat`` times, interleaved with the order swapped each time, on a fresh
instance and data directory each time.
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def section(lines: list[str]) -> None:
    results = ROOT / "bench" / "RESULTS.md"
    text = results.read_text() if results.exists() else "# Benchmarks\n"
    body = "## Ingest\n\n" + "\n".join(lines) + "\n"
    if "## Ingest\n" in text:
        text = re.sub(r"## Ingest\n.*?(?=\n## |\Z)", body.rstrip("\n") + "\n", text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + body
    results.write_text(text)


def cli_command(*args: str) -> list[str]:
    """The ``football-events`` console script of this checkout (its entry point from pyproject.toml)."""
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["football-events"]
    module, func = target.split(":")
    return [sys.executable, "-c", f"import sys; from {module} import {func} as m; sys.exit(m())", *args]


def make_clips(folder: Path, n: int, size: str, seconds: float, rate: int = 25) -> list[Path]:
    """``n`` distinct H.264 clips (testsrc2 started at different offsets), made 2 at a time."""
    folder.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> Path:
        out = folder / f"clip{i:03d}.mp4"
        if not out.exists():
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                            f"testsrc2=size={size}:rate={rate}:duration={seconds + i % 7}",
                            "-ss", str(i % 7), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                            str(out)], check=True)
        return out

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(one, range(n)))


def bare_ffmpeg(clips: list[Path], out_dir: Path, workers: int) -> float:
    """Wall time of the same transcode (``transcode_args``) of every clip, ``workers`` at a time."""
    from football_assets.core.ingest.video import transcode_args

    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda c: subprocess.run(transcode_args(c, out_dir / c.name), check=True, capture_output=True), clips))
    return time.perf_counter() - t


class UserPath:
    """A fresh DAGSTER_HOME and data directory, and the CLI run in them as a user would."""

    def __init__(self, work: Path, name: str):
        self.dir = work / name
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "dagster").mkdir(parents=True)
        shutil.copy(ROOT / "dagster.yaml", self.dir / "dagster" / "dagster.yaml")
        self.manifest = self.dir / "sources.yaml"
        self.env = {**os.environ, "DAGSTER_HOME": str(self.dir / "dagster"), "FOOTBALL_DATA_DIR": str(self.dir / "data"),
                    "FOOTBALL_MANIFEST": str(self.manifest), "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}

    def write_manifest(self, clips: list[Path] | None = None, demo: int | None = None) -> None:
        if clips is not None:
            self.manifest.write_text("sources:\n" + "".join(f"  - path: {c}\n" for c in clips))
        else:
            self.manifest.write_text(f"demo: {{clips: {demo}, seed: 0}}\n")

    def ingest(self) -> tuple[float, str]:
        t = time.perf_counter()
        proc = subprocess.run(cli_command("demo", "--ingest-only"), env=self.env, capture_output=True, text=True, cwd=self.dir)
        wall = time.perf_counter() - t
        if proc.returncode != 0 or " 0 failed" not in proc.stdout:
            raise SystemExit(f"CLI ingest failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return wall, proc.stdout


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished child processes so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def compare(work: Path, label: str, clips: list[Path], workers: int, repeat: int) -> tuple[str, list[float]]:
    """Bare ffmpeg and the CLI, ``repeat`` times, interleaved, the order swapped each time (so a drift in
    the machine's speed does not favour either). Wall time is the goal's measure; CPU time (the processes'
    own, so less moved by other load on the machine) says where the extra goes."""

    def timed(fn) -> tuple[float, float]:
        c0 = children_cpu()
        wall = fn()
        return wall, children_cpu() - c0

    def cli() -> float:
        user = UserPath(work, f"user-{label}")
        user.write_manifest(clips)
        return user.ingest()[0]

    runs = {"bare": lambda: bare_ffmpeg(clips, work / "bare", workers), "cli": cli}
    rows = []
    for r in range(repeat):
        measured = {name: timed(runs[name]) for name in (("bare", "cli") if r % 2 == 0 else ("cli", "bare"))}
        (bare, bare_cpu), (ours, ours_cpu) = measured["bare"], measured["cli"]
        rows.append((bare, ours, bare_cpu, ours_cpu))
        print(f"  {label} #{r + 1} ({'bare first' if r % 2 == 0 else 'CLI first'}): bare {bare:.1f} s ({bare_cpu:.1f} s CPU), "
              f"CLI {ours:.1f} s ({ours_cpu:.1f} s CPU), ratio {ours / bare:.2f} (CPU {ours_cpu / bare_cpu:.2f})", flush=True)
    ratios = [c / b for b, c, _, _ in rows]
    cpu = [cc / bc for _, _, bc, cc in rows]
    line = (f"| {label} | {len(clips)} | {' / '.join(f'{b:.1f}' for b, *_ in rows)} | "
            f"{' / '.join(f'{c:.1f}' for _, c, *_ in rows)} | {' / '.join(f'{x:.2f}' for x in ratios)} | "
            f"**{statistics.median(ratios):.2f}** | {statistics.median(cpu):.2f} |")
    return line, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo-sized", type=int, default=64, help="clips of 8 s 384x256@25 (the demo's raw size)")
    parser.add_argument("--hd", type=int, default=16, help="clips of 30 s 1280x720@25")
    parser.add_argument("--base", type=int, default=50, help="clips before one is added")
    parser.add_argument("--demo-rerun", type=int, default=128, help="synthetic demo clips for the re-run figure (make demo: 128)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each pair (single runs move by +-0.2 here)")
    parser.add_argument("--work", default="", help="working folder (default: a temp dir, removed after)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-ingest-"))
    from football_assets.core.ingest.batch import default_workers

    workers = default_workers()
    load = os.getloadavg()
    lines = [f"Machine: {os.cpu_count()} cores (worker pool and bare ffmpeg both {workers} at a time), "
             f"load average {load[0]:.1f} at the start. Run: `make bench` ({time.strftime('%Y-%m-%d')}).", ""]

    # 1. the whole user path vs bare ffmpeg.
    print("making test clips ...", flush=True)
    demo_sized = make_clips(work / "src-demo", args.demo_sized, "384x256", 8.0)
    hd = make_clips(work / "src-hd", args.hd, "1280x720", 30.0)
    table = ["### 1. Whole ingest path (CLI, fresh instance on disk) vs bare ffmpeg at the same parallelism", "",
             "| clips | n | bare ffmpeg s | `football-events demo --ingest-only` s | ratio per run | median ratio | median CPU-time ratio |",
             "|---|---|---|---|---|---|---|"]
    for label, clips in (("8 s 384x256@25 (demo-sized)", demo_sized), ("30 s 1280x720@25", hd)):
        line, _ = compare(work, label, clips, workers, args.repeat)
        table.append(line)
    lines += table + ["", "Goals: <= 1.5 (demo-sized), <= 1.15 (720p). The CLI time includes Python start-up and "
                      "imports, registering the manifest, the runs' instance writes (SQLite) and a probe, copy and "
                      "hash of every source; the bare time is only the transcodes. The CPU-time ratio compares the CPU "
                      "seconds of the CLI's process tree with those of the bare ffmpeg processes.", ""]

    # 2. one clip added to 50, through the sensor.
    from dagster import DagsterInstance, build_sensor_context

    from football_assets.defs.ingest.sensors import clip_sources_sensor
    from resources import DataDirResource

    user = UserPath(work, "add-one")
    user.write_manifest(demo_sized[:args.base])
    user.ingest()
    before = {p.name: p.stat().st_mtime_ns for p in (user.dir / "data" / "clips_4fps").glob("*.mp4")}
    user.write_manifest(demo_sized[:args.base + 1])
    saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "FOOTBALL_DATA_DIR", "FOOTBALL_MANIFEST")}
    os.environ.update({k: user.env[k] for k in saved})
    try:
        with DagsterInstance.get() as inst:
            sensed = clip_sources_sensor(build_sensor_context(instance=inst, resources={"storage": DataDirResource()}))
            requested = [(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
                         for r in sensed.run_requests]
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    _, out = user.ingest()  # what the sensor's run does, through the driver (which registers the new clip)
    after = {p.name: p.stat().st_mtime_ns for p in (user.dir / "data" / "clips_4fps").glob("*.mp4")}
    encoded = [n for n in after if before.get(n) != after[n]]
    lines += ["### 2. One clip added to 50", "",
              f"The sensor requested **{len(requested)}** run(s) over the range(s) {requested}; the CLI re-run "
              f"({out.splitlines()[1].strip() if len(out.splitlines()) > 1 else ''}) encoded **{len(encoded)}** clip(s).", ""]

    # 3. re-run of a complete ingest.
    user = UserPath(work, "rerun")
    user.write_manifest(demo=args.demo_rerun)
    first, _ = user.ingest()
    again = [user.ingest()[0] for _ in range(args.repeat)]
    lines += ["### 3. Re-running after a complete ingest", "",
              f"{args.demo_rerun} synthetic demo clips (rendered by the generator): first `--ingest-only` run "
              f"{first:.1f} s, re-runs {' / '.join(f'{x:.1f}' for x in again)} s: **{statistics.median(again) / first:.0%}** "
              f"of the first (goal <= 10%). A re-run skips clips materialized in the instance whose files are "
              f"current, so it is Python start-up, registration and one status query.", ""]
    print("\n".join(lines))
    section(lines)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
