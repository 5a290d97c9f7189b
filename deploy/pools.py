"""Per-pool concurrency limits. Dagster keeps them in the instance's database (not in dagster.yaml), so
`make` applies them with ``python -m deploy.pools`` after copying dagster.yaml; re-running is a
no-op. The limits themselves live in ``football_assets/defs/placement.py``."""

from football_assets.defs.placement import POOL_LIMITS


def apply(instance, limits: dict[str, int] = POOL_LIMITS) -> dict[str, int]:
    """Set each pool's slot count on ``instance`` when it differs; return the resulting limits."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        raise RuntimeError(f"instance storage {type(storage).__name__} does not support pool limits; "
                           "run `dagster instance migrate`")
    for pool, limit in limits.items():
        if storage.get_concurrency_info(pool).slot_count != limit:
            storage.set_concurrency_slots(pool, limit)
    return {pool: storage.get_concurrency_info(pool).slot_count for pool in limits}


def main() -> None:
    from dagster import DagsterInstance  # deferred: keep the constants importable cheaply

    with DagsterInstance.get() as instance:
        print("pool limits:", apply(instance))


if __name__ == "__main__":
    main()
