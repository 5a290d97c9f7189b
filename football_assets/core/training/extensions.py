"""The lock file torch leaves behind when a JIT extension build is killed.

DeepSpeed on CPU builds its shared-memory communication op (``deepspeed_shm_comm``) with
``torch.utils.cpp_extension`` the first time a process group starts. torch guards each build with a ``lock``
file in the extension's build directory that only the building process removes; a process killed mid-build
(a cancelled run, a timeout) leaves it, and every later trainer then waits on it forever without a word. A
build takes well under a minute, so a lock older than ``max_age_s`` is a leftover and goes.
"""

from __future__ import annotations

import time
from pathlib import Path


def clear_stale_build_locks(max_age_s: float = 600.0, root: str | Path | None = None) -> list[Path]:
    """Remove extension build locks older than ``max_age_s`` under ``root`` (torch's build root by default);
    returns the removed paths. A fresh lock (a build running now in another process) is left alone."""
    if root is None:
        from torch.utils.cpp_extension import get_default_build_root

        root = get_default_build_root()
    removed = []
    now = time.time()
    for lock in Path(root).glob("*/lock"):
        try:
            if now - lock.stat().st_mtime > max_age_s:
                lock.unlink()
                removed.append(lock)
        except FileNotFoundError:  # another process finished or removed it meanwhile
            continue
    return removed
