"""A JIT extension build lock left by a killed build is removed; a fresh one (a build running now) stays."""

import os
import time

from football_assets.core.training.extensions import clear_stale_build_locks


def test_stale_lock_removed_fresh_lock_kept(tmp_path):
    stale, fresh = tmp_path / "deepspeed_shm_comm" / "lock", tmp_path / "other_op" / "lock"
    for lock in (stale, fresh):
        lock.parent.mkdir()
        lock.touch()
    old = time.time() - 3600
    os.utime(stale, (old, old))
    (tmp_path / "deepspeed_shm_comm" / "build.ninja").write_text("kept")

    assert clear_stale_build_locks(max_age_s=600, root=tmp_path) == [stale]
    assert not stale.exists() and fresh.exists()
    assert (tmp_path / "deepspeed_shm_comm" / "build.ninja").exists()
    assert clear_stale_build_locks(max_age_s=600, root=tmp_path) == []
