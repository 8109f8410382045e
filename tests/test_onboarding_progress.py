"""Where a hire stands: due vs done, behind two weeks running, next steps, and the ramp among earlier hires."""

from __future__ import annotations

from datetime import date, timedelta

from bot.onboarding.progress import PeerRecord, StepRecord, progress

START = date(2026, 10, 1)


def _steps(done: dict[int, date] | None = None) -> list[StepRecord]:
    done = done or {}
    return [StepRecord(i, f"step {i}", due, done.get(i)) for i, due in enumerate((10, 20, 30, 45, 60, 75, 90), start=1)]


def test_on_track_and_next_steps():
    today = START + timedelta(days=20)  # day 21: steps due on days 10 and 20
    p = progress(START, today, _steps({1: START + timedelta(days=5), 2: START + timedelta(days=18)}), [], [])
    assert (p.day, p.phase, p.status.due, p.status.done, p.status.behind) == (21, 1, 2, 2, False)
    assert [s.id for s in p.next_steps] == [3, 4, 5]
    assert not p.behind_two_weeks and p.value == 2


def test_behind_once_is_not_behind_two_weeks():
    today = START + timedelta(days=20)  # day 21: two due, one done; a week ago (day 14) one due and done
    p = progress(START, today, _steps({1: START + timedelta(days=5)}), [], [])
    assert p.status.behind and not p.behind_two_weeks


def test_behind_two_weeks_running():
    today = START + timedelta(days=27)  # day 28: two due, none done; day 21: two due, none done
    p = progress(START, today, _steps(), [], [])
    assert p.status.behind and p.behind_two_weeks


def test_a_step_done_late_still_counts_as_behind_last_week():
    today = START + timedelta(days=27)
    p = progress(START, today, _steps({1: today, 2: today}), [], [])
    assert not p.status.behind and not p.behind_two_weeks


def test_ramp_needs_three_earlier_hires_of_the_same_day():
    today = START + timedelta(days=29)  # day 30
    mine = _steps({1: START + timedelta(days=3), 2: START + timedelta(days=12)})
    early = date(2026, 6, 1)
    peers = [
        PeerRecord.of(early, [early + timedelta(days=5)]),  # 1 by day 30
        PeerRecord.of(early, [early + timedelta(days=5), early + timedelta(days=9), early + timedelta(days=20)]),
    ]
    p = progress(START, today, mine, [], peers)
    assert p.ramp is None and p.peers == 2
    peers.append(PeerRecord.of(early, [early + timedelta(days=40)]))  # done after day 30: 0 by the same day
    p = progress(START, today, mine, [], sorted(peers, key=lambda peer: peer.start))
    assert p.peers == 3 and p.value == 2 and p.ramp == 67  # above two of three


def test_later_hires_and_met_commitments():
    today = START + timedelta(days=29)
    later = PeerRecord.of(START + timedelta(days=3), [START + timedelta(days=4)])  # started after: not a peer
    same = PeerRecord.of(START, [START])  # this hire itself, or one who started the same day
    p = progress(START, today, _steps(), [START + timedelta(days=10)], [same, *[later] * 5])
    assert p.peers == 0 and p.ramp is None and p.value == 1
