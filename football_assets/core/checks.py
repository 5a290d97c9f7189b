"""The one shape every check result takes in the plain-Python core (clip contract, annotation snapshot,
SFT splits). ``football_assets/defs/checks.py`` turns it into a Dagster ``AssetCheckResult``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one named check; ``description`` says what was found, ``metadata`` the counts behind it."""

    name: str
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)
