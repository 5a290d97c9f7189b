"""The one converter from the core's ``CheckResult`` to Dagster's ``AssetCheckResult``, and the matching
check specs built from a ``{name: description}`` table that sits beside each check's code."""

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey

from football_assets.core.checks import CheckResult


def check_specs(asset: str, descriptions: dict[str, str], blocking: bool | set[str] = False) -> list[AssetCheckSpec]:
    """One spec per check; ``blocking`` True for all, or the set of names that block."""
    return [AssetCheckSpec(name, asset=asset, description=d,
                           blocking=blocking if isinstance(blocking, bool) else name in blocking)
            for name, d in descriptions.items()]


def to_asset_check(result: CheckResult, asset: str | None = None,
                   severity: AssetCheckSeverity = AssetCheckSeverity.ERROR) -> AssetCheckResult:
    return AssetCheckResult(check_name=result.name, passed=result.passed, severity=severity,
                            description=result.description, metadata=dict(result.metadata),
                            **({"asset_key": AssetKey(asset)} if asset else {}))
