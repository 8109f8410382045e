"""Where "what works for whom" draws its lines: how many closed commitments a figure needs before it
is shown, how wide the range around a met rate is, the weekly target sizes it groups commitments
into, and when a draft target is flagged as likely too big or too easy. Numbers only."""

from __future__ import annotations

from pydantic import Field, model_validator

from bot.playbook.content import Content


class LearningRules(Content):
    """The outcome ledger's lines. The floors cannot go below five: figures across reps are
    aggregates of at least five closed commitments from at least five distinct reps, whatever an
    organisation's playbook says."""

    min_closed: int = Field(
        default=5, ge=5, le=100, description="Closed commitments a figure needs before it is shown at all (5 or more)."
    )
    min_reps: int = Field(
        default=5,
        ge=5,
        le=100,
        description="Distinct reps those closed commitments must come from before a figure is shown (5 or more).",
    )
    interval: int = Field(
        default=80, ge=50, le=99, description="Percent credibility of the range shown around each met rate."
    )
    size_bands: tuple[int, ...] = Field(
        default=(2, 5, 10),
        min_length=1,
        max_length=8,
        description="Upper ends of the weekly target bands, ascending; the last band is open "
        "(2, 5, 10 gives 1-2, 3-5, 6-10 and 11+ a week).",
    )
    too_big: int = Field(
        default=40, ge=1, le=99, description="Percent chance of being met under which a target is likely too big."
    )
    too_easy: int = Field(
        default=90,
        ge=2,
        le=100,
        description="Percent chance of being met over which a draft target is likely too easy.",
    )
    own_history: int = Field(
        default=6, ge=1, le=30, description="The rep's most recent closed commitments that size a draft target."
    )
    ledger_weight: int = Field(
        default=10,
        ge=1,
        le=200,
        description="At most this many of the workspace's similar commitments weigh in a sizing, so the "
        "rep's own history still counts.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> LearningRules:
        """Bands must ascend from 1 and the two sizing lines must leave a range between them."""
        bands = self.size_bands
        if bands[0] < 1 or any(b <= a for a, b in zip(bands, bands[1:], strict=False)):
            raise ValueError("size_bands must be whole numbers from 1 up, each larger than the one before")
        if self.too_big >= self.too_easy:
            raise ValueError("too_big must be lower than too_easy")
        return self
