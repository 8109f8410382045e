"""The lines the playbook draws when Coachbot judges: how much coaching a PIP needs first, where
the leading-vs-lagging reading calls behaviors "showing up" and numbers "flat", where the next
coaching hour goes, and when the outcomes call for a second opinion. Numbers, except the second
opinion's label and reading per pattern, which are the organization's words like the rest of the
playbook's content."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from bot.playbook.content import NAME_MAX, TEXT_MAX, Content, Name, Text, shipped_section


class PipRules(Content):
    """How a PIP readiness check weighs the manager's own coaching."""

    coached_share: int = Field(
        default=75,
        ge=1,
        le=100,
        description="Percent of the 60-minutes-a-week baseline the rep must have been coached over the "
        "stalled cycles before a PIP is fair.",
    )


class LaggingRules(Content):
    """Where the reading of coached behaviors beside the imported numbers draws its lines."""

    showing_up: int = Field(
        default=50,
        ge=1,
        le=100,
        description="Percent of closed commitments met for the coached behaviors to count as showing up.",
    )
    min_closed: int = Field(
        default=2, ge=1, le=20, description="Closed commitments needed before the behaviors are judged at all."
    )
    flat_band: float = Field(
        default=5.0,
        gt=0,
        le=50,
        description="A change over the quarter smaller than this many points (attainment, pipeline quality) is flat.",
    )


class CoachingDebt(Content):
    """How Coachbot ranks where a manager's next coaching hour is worth most, balances 1:1 against
    group time, and when it warns that a rep is slipping behind their own pace mid-window."""

    weekly_minutes: int = Field(
        default=60,
        ge=10,
        le=240,
        description="Coaching each rep is owed per week, in minutes (counted over four weeks).",
    )
    recent_miss: float = Field(default=3.0, ge=0, le=20, description="Score per cycle missed in the last four weeks.")
    onboarding: float = Field(default=2.0, ge=0, le=20, description="Score for a rep in their first 90 days.")
    onboarding_behind: float = Field(default=1.0, ge=0, le=20, description="Extra score when their plan is behind.")
    unmet_cycle: float = Field(
        default=1.5, ge=0, le=20, description="Score per closed cycle in a row not met on the gap being coached."
    )
    closing_soon: float = Field(
        default=2.0, ge=0, le=20, description="Score when a commitment short of its target ends within closing_days."
    )
    closing_days: int = Field(default=2, ge=0, le=14, description="How near a window's end counts as about to close.")
    pip_question: float = Field(
        default=4.0, ge=0, le=20, description="Score when a PIP is running or the record raises the PIP question."
    )
    owed_hour: float = Field(default=1.0, ge=0, le=20, description="Score per hour of coaching owed.")
    one_on_one_share: int = Field(
        default=70, ge=0, le=100, description="Percent of the manager's coaching time meant to be 1:1 (the rest group)."
    )
    share_tolerance: int = Field(
        default=10, ge=0, le=50, description="Points either side of that share before Coachbot leans one way."
    )
    group_min_reps: int = Field(
        default=3, ge=2, le=20, description="Reps sharing a gap before a group session is proposed."
    )
    slip_ratio: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="A rep is slipping when their progress this window is below this share of their usual "
        "progress by the same point.",
    )
    slip_min_windows: int = Field(
        default=3, ge=1, le=20, description="Closed windows of the rep's own needed before their usual pace counts."
    )
    slip_history: int = Field(
        default=6, ge=1, le=50, description="How many of the rep's latest closed windows set the pace."
    )


class OpinionWording(Content):
    """How one second-opinion pattern reads, in the diagnose form and the weekly summary."""

    label: Name = Field(
        description=f"The short name after 'Second opinion:' in the diagnose form (at most {NAME_MAX} characters)."
    )
    reading: Text = Field(
        description=f"How to read the pattern: what it points at and what to do next (at most {TEXT_MAX} characters)."
    )


class OpinionPatterns(Content):
    """The three patterns, by the keys Coachbot uses for them (bot.cases.opinion.Pattern): all three."""

    effort_without_movement: OpinionWording = Field(
        description="Missed cycles with check-ins in each: the rep keeps trying and the behavior does not land."
    )
    not_bought_in: OpinionWording = Field(description="Missed cycles with nothing logged: the behavior is not tried.")
    met_but_flat: OpinionWording = Field(description="Cycles met while the numbers stay flat for a quarter.")

    def of(self, pattern: str) -> OpinionWording:
        """The wording of the pattern with this key (a `Pattern` value)."""
        wording = getattr(self, pattern, None) if pattern in type(self).model_fields else None
        if not isinstance(wording, OpinionWording):
            raise KeyError(pattern)
        return wording


@cache
def shipped_opinion_patterns() -> OpinionPatterns:
    """The default playbook's wording, so a custom playbook without it still reads each pattern."""
    return OpinionPatterns.model_validate(shipped_section("second_opinion", "patterns"))


class SecondOpinionRules(Content):
    """When Coachbot suggests looking at a diagnosis again because the outcomes do not fit it, and
    how each pattern reads."""

    missed_cycles: int = Field(
        default=2,
        ge=2,
        le=10,
        description="Missed cycles in a row on a gap diagnosed as a coaching gap before a second opinion "
        "(with check-ins in each: effort without movement; with none: not bought in).",
    )
    met_cycles: int = Field(
        default=2,
        ge=1,
        le=10,
        description="Latest cycles all met, beside numbers flat for a quarter, before a second opinion.",
    )
    patterns: OpinionPatterns = Field(
        default_factory=shipped_opinion_patterns,
        description="A label and a reading per pattern (optional: without it, the default playbook's words).",
    )
