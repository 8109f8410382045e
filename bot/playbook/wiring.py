"""Pure coaching facts about a rep's wiring: onboarding phase and seat fit. No Slack, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ONBOARDING_DAYS = 90
PHASES = (
    (30, "absorption and observation"),
    (60, "supervised execution"),
    (90, "accountability"),
)


@dataclass(frozen=True)
class OnboardingStatus:
    day: int | None  # 1..90 while onboarding; None when unknown, not started or ramped
    label: str


def onboarding_status(start: date | None, today: date) -> OnboardingStatus:
    if start is None:
        return OnboardingStatus(None, "start date not recorded")
    day = (today - start).days + 1
    if day < 1:
        return OnboardingStatus(None, f"starts in {1 - day} day{'s' if 1 - day != 1 else ''}")
    if day > ONBOARDING_DAYS:
        return OnboardingStatus(None, "ramped (past day 90)")
    phase = next(name for limit, name in PHASES if day <= limit)
    return OnboardingStatus(day, f"day {day} of 90 ({phase})")


def seat_fit_risk(archetype: str | None, seat_archetype: str | None) -> bool:
    """A rep wired for one archetype in a seat that needs another is a seat-fit risk."""
    return bool(archetype and seat_archetype and archetype != seat_archetype)
