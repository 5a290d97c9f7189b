"""The one list of match-event classes, and the event record every stage passes around.

Every other place (Label Studio config, demo generator, prompts, metrics) derives its class list
from ``EVENT_CLASSES``; a test checks the labeling config against it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

EVENT_CLASSES: tuple[str, ...] = (
    "Goal",
    "Penalty",
    "Shot on target",
    "Yellow card",
    "Red card",
    "Corner",
    "Foul",
    "Substitution",
)

#: The frame rate every model-facing clip is resampled to (Cosmos-Reason1 is trained at 4 fps).
TARGET_FPS = 4


class UnknownEventClass(ValueError):
    """A label that is not one of ``EVENT_CLASSES``."""


def check_class(name: str) -> str:
    """Return ``name`` if it is a known class, else raise naming the known ones."""
    if name not in EVENT_CLASSES:
        raise UnknownEventClass(f"unknown event class {name!r}; known classes: {', '.join(EVENT_CLASSES)}")
    return name


@dataclass(frozen=True)
class Event:
    """One event in one clip; times in seconds from the clip's start."""

    event: str
    start_time: float
    end_time: float
    description: str = ""

    def __post_init__(self) -> None:
        check_class(self.event)
        if not self.start_time < self.end_time:
            raise ValueError(f"event {self.event!r}: start {self.start_time} must be before end {self.end_time}")

    def to_dict(self) -> dict:
        return asdict(self)
