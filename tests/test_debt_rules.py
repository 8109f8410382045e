"""Coaching debt and the slip rule, as pure functions: owed minutes, ranking, the 70/30 lean, group
proposals, and when a rep counts as behind their own pace."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.playbook.thresholds import CoachingDebt
from bot.practice.pace import Window, due_check, first_check, slipping, window
from bot.team.debt import RepFacts, assess, lean, one_on_one_share, owed_minutes, rank, shared_gap

RULES = CoachingDebt()
UTC_ZONE = ZoneInfo("UTC")


# --- owed minutes -------------------------------------------------------------------------------


def test_owed_minutes_against_sixty_a_week_over_four_weeks():
    assert owed_minutes(0, 4, 60) == 240
    assert owed_minutes(90, 4, 60) == 150
    assert owed_minutes(300, 4, 60) == 0  # extra time is not banked as credit
    assert owed_minutes(30, 1.5, 60) == 60  # a rep on the team for ten and a half days


def test_group_minutes_count_for_each_attendee_and_the_share_counts_each_session_once():
    """A 1:1 and a group session the rep attended both count fully for the rep (as the summary counts
    them); the manager's split counts each session once."""
    rep = RepFacts("U1", minutes=30 + 45)  # a 30-minute 1:1 and a 45-minute group session
    assert assess([rep], (30, 45), RULES).owed == {"U1": 240 - 75}
    assert one_on_one_share(30, 45) == 40
    assert one_on_one_share(0, 0) is None


# --- ranking ------------------------------------------------------------------------------------


def test_ranking_puts_the_heaviest_reasons_first():
    fully_coached = 240
    facts = [
        RepFacts("UOWED", minutes=0),  # only owed time: 4 hours -> 4.0
        RepFacts("UPIP", minutes=fully_coached, pip="PIP question on discovery"),  # 4.0, owes nothing
        RepFacts("UMISS", minutes=fully_coached, recent_misses=2, unmet_cycles=2, focus_gap="discovery"),  # 6 + 3
        RepFacts("UNEW", minutes=fully_coached, onboarding="onboarding day 40/90", onboarding_behind=True),  # 3
        RepFacts("UCLOSE", minutes=210, closing="window ends today with 1 of 3 logged"),  # 2 + 0.5
        RepFacts("UFINE", minutes=fully_coached),  # nothing to weigh: left out
    ]
    ranked = rank(facts, RULES)
    assert [i.user_id for i in ranked] == ["UMISS", "UOWED", "UPIP", "UNEW", "UCLOSE"]
    assert ranked[0].reasons == ("missed 2 cycles lately", "2 closed cycles unmet on discovery")
    assert ranked[1].owed == 240 and ranked[2].owed == 0
    assert ranked[3].reasons == ("onboarding day 40/90, plan behind",)


def test_ties_go_to_the_rep_owed_more_then_keep_team_order():
    facts = [
        RepFacts("UA", minutes=240, pip="PIP running on closing"),
        RepFacts("UB", minutes=240, pip="PIP running on closing"),
        RepFacts("UC", minutes=240, closing="window ends Sat 14 Nov with 0 of 3 logged", recent_misses=0),
    ]
    rules = RULES.model_copy(update={"closing_soon": 4.0})
    assert [i.user_id for i in rank(facts, rules)] == ["UA", "UB", "UC"]
    facts[2] = RepFacts("UC", minutes=0, pip="PIP running on closing")
    assert [i.user_id for i in rank(facts, RULES)][0] == "UC"


def test_misses_and_unmet_cycles_are_capped():
    many = rank([RepFacts("U1", minutes=240, recent_misses=9, unmet_cycles=9, focus_gap="x")], RULES)[0]
    assert many.score == 3 * RULES.recent_miss + 4 * RULES.unmet_cycle


def test_weights_come_from_the_playbook():
    facts = [RepFacts("UNEW", minutes=240, onboarding="onboarding day 5/90"), RepFacts("UOWED", minutes=0)]
    assert [i.user_id for i in rank(facts, RULES)] == ["UOWED", "UNEW"]
    heavy = RULES.model_copy(update={"onboarding": 10.0})
    assert [i.user_id for i in rank(facts, heavy)] == ["UNEW", "UOWED"]


# --- 70/30 and group sessions -------------------------------------------------------------------


def test_lean_keeps_the_seventy_thirty_balance():
    assert lean(None, RULES) == "1:1"  # nothing logged: start with 1:1s
    assert lean(40, RULES) == "1:1"  # too much group time
    assert lean(70, RULES) == "balanced"
    assert lean(80, RULES) == "balanced"  # within the tolerance
    assert lean(95, RULES) == "group"  # nearly all 1:1: a group session would help the balance


def test_group_session_proposed_at_three_reps_sharing_a_gap():
    two = [RepFacts("U1", 0, gaps=frozenset({"discovery"})), RepFacts("U2", 0, gaps=frozenset({"discovery"}))]
    assert shared_gap(two, RULES) is None
    three = [*two, RepFacts("U3", 0, gaps=frozenset({"discovery", "closing"}))]
    group = shared_gap(three, RULES)
    assert group is not None and (group.gap, group.user_ids) == ("discovery", ("U1", "U2", "U3"))
    assert assess(three, (300, 0), RULES).lean == "group"
    assert assess(three, (300, 0), RULES).group == group


# --- the slip rule ------------------------------------------------------------------------------

START = date(2026, 11, 12)


def _past(n: int, logged_early: int, target: int = 4) -> list[Window]:
    """n closed 7-day windows in which `logged_early` were logged on the first day."""
    windows = []
    for k in range(1, n + 1):
        starts = START - timedelta(days=7 * k)
        day_one = datetime(starts.year, starts.month, starts.day, 15, 0, tzinfo=UTC)
        windows.append(window(starts, starts + timedelta(days=6), target, UTC_ZONE, [(day_one, logged_early)]))
    return list(reversed(windows))


def _now(fraction: float) -> datetime:
    return datetime(2026, 11, 12, tzinfo=UTC) + timedelta(days=7 * fraction)


def test_slip_needs_more_than_half_the_window_gone():
    current = window(START, START + timedelta(days=6), 4, UTC_ZONE)
    past = _past(3, 2)
    assert slipping(current, past, _now(0.5), RULES) is None
    slip = slipping(current, past, _now(0.6), RULES)
    assert slip is not None and (slip.logged, slip.target, slip.windows, slip.usual) == (0, 4, 3, 0.5)
    assert slipping(current, past, _now(1.0), RULES) is None  # the window is over: too late to warn


def test_slip_needs_three_past_windows():
    current = window(START, START + timedelta(days=6), 4, UTC_ZONE)
    assert slipping(current, _past(2, 2), _now(0.6), RULES) is None
    assert slipping(current, _past(3, 2), _now(0.6), RULES) is not None


def test_slip_is_relative_to_the_reps_own_usual_pace():
    logged_one = [(datetime(2026, 11, 12, 15, 0, tzinfo=UTC), 1)]
    current = window(START, START + timedelta(days=6), 4, UTC_ZONE, logged_one)
    # usually half the target by now: a quarter is exactly half the usual, which is not below it
    assert slipping(current, _past(3, 2), _now(0.6), RULES) is None
    # usually all of it by now: a quarter is well behind
    assert slipping(current, _past(3, 4), _now(0.6), RULES) is not None
    # a rep who usually logs nothing by this point is not behind anything
    empty = window(START, START + timedelta(days=6), 4, UTC_ZONE)
    assert slipping(empty, _past(3, 0), _now(0.6), RULES) is None


def test_slip_compares_shares_of_the_target_not_raw_counts():
    """Past windows with a target of 10 (5 logged early) against a target of 2 with 1 logged: on pace."""
    current = window(START, START + timedelta(days=6), 2, UTC_ZONE, [(datetime(2026, 11, 12, 15, tzinfo=UTC), 1)])
    assert slipping(current, _past(3, 5, target=10), _now(0.6), RULES) is None


def test_first_check_is_the_first_nudge_time_after_the_middle_and_before_the_end():
    seven = first_check(START, START + timedelta(days=6), UTC_ZONE, 9, 0)
    assert seven == datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # middle is Sun 12:00; Mon 09:00 is next
    eight = first_check(START, START + timedelta(days=7), UTC_ZONE, 9, 0)
    assert eight == datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # middle Mon 00:00
    assert first_check(START, START, UTC_ZONE, 9, 0) is None  # a one-day window has no "after the middle"
    chicago = ZoneInfo("America/Chicago")
    assert first_check(START, START + timedelta(days=6), chicago, 9, 0) == datetime(2026, 11, 16, 15, 0, tzinfo=UTC)


def test_a_window_is_judged_once_a_day_at_the_nudge_time():
    """In the hour after each day's nudge time from the first check on, and never once the window ended."""
    ends = START + timedelta(days=6)  # Thu 12 .. Wed 18 (UTC); the first check is Mon 16 09:00

    def due(moment: datetime) -> datetime | None:
        return due_check(START, ends, UTC_ZONE, 9, 0, moment)

    monday = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    assert due(monday - timedelta(minutes=1)) is None
    assert due(monday) == monday and due(monday + timedelta(minutes=59)) == monday
    assert due(monday + timedelta(hours=1)) is None  # between checks: nothing is read
    assert due(monday + timedelta(days=1, minutes=5)) == monday + timedelta(days=1)
    assert due(datetime(2026, 11, 19, 0, 30, tzinfo=UTC)) is None  # the window is over
