"""Atomic file writes: a reader sees the old file or the complete new one, never half of one."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (``os.umask`` sets it to read it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _chmod_like_open(path: Path, base: int) -> None:
    """mkstemp/mkdtemp create 0600/0700 files; give the result the mode open()/mkdir() would (0644/0755
    under the usual umask 022), so other users (a Label Studio server, a trainer) can read it."""
    os.chmod(path, base & ~current_umask())


@contextlib.contextmanager
def atomic_path(dest: Path | str, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path beside ``dest``; on success rename it over ``dest``, on error delete it.

    The temp file keeps ``dest``'s extension (ffmpeg picks the muxer from it) and lives in the same
    directory so the final ``os.replace`` is atomic.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=suffix if suffix is not None else dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        _chmod_like_open(tmp_path, 0o666)
        yield tmp_path
        if tmp_path.exists():  # a writer may have replaced the temp file (ffmpeg, shutil.move)
            _chmod_like_open(tmp_path, 0o666)
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(dest: Path | str) -> Iterator[Path]:
    """Like ``atomic_path`` for a directory: build it under a temp name, then swap it in."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        _chmod_like_open(tmp, 0o777)
        yield tmp
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(dest: Path | str, obj) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))


def read_json(path: Path | str, default=None):
    path = Path(path)
    if not path.exists():
        return default
    return json.loads(path.read_text())


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_jsonl(path: Path | str) -> list[dict]:
    """One JSON object per non-blank line; a bad line is an error naming the file and line."""
    out = []
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
    return out


def copy_hashed(src: Path | str, dest: Path | str, chunk: int = 1 << 20) -> str:
    """Copy ``src`` to ``dest`` atomically and return the copy's sha256, reading the bytes once."""
    h = hashlib.sha256()
    with atomic_path(dest) as tmp, open(src, "rb") as fin, open(tmp, "wb") as fout:
        while block := fin.read(chunk):
            h.update(block)
            fout.write(block)
    return h.hexdigest()
