"""`coachbot import`: all-or-nothing, row-numbered errors, idempotent, versioned wiring."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from storage import queries
from storage.models import Person, Seat, WiringProfile
from tests.conftest import HEADER, MANAGER, REP, REP2, STANDARD_ROWS


def _counts(engine) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return (queries.count_rows(s, Person), queries.count_rows(s, WiringProfile), queries.count_rows(s, Seat))


def test_import_creates_people_seats_and_profiles(import_csv, engine):  # type: ignore[no-untyped-def]
    out = import_csv(*STANDARD_ROWS)
    assert "3 new people" in out and "2 new wiring profile version(s)" in out
    with Session(engine) as s:
        rep = queries.get_person(s, "T0TEAM", REP)
        assert rep is not None and rep.manager_user_id == MANAGER and rep.tz == "America/Chicago"
        assert rep.start_date.isoformat() == "2026-11-01"
        mgr = queries.get_person(s, "T0TEAM", MANAGER)
        assert mgr is not None and mgr.role == "manager"
        profile = queries.latest_profile(s, "T0TEAM", rep.id)
        assert (profile.archetype, profile.coachability, profile.drive, profile.resilience) == ("root", 72, 65, 40)
        assert profile.deal_killers == ["coaching_resistance"]
        assert profile.gaps == ["discovery", "time_pressure"]
        seat = queries.get_seat(s, "T0TEAM", rep.seat_id)
        assert (seat.name, seat.archetype) == ("Hunter", "engine")


def test_reimport_same_file_changes_nothing(import_csv, engine):  # type: ignore[no-untyped-def]
    import_csv(*STANDARD_ROWS)
    with Session(engine) as s:
        before = [(p.id, p.updated_at) for p in s.exec(select(Person).order_by(Person.id))]
    out = import_csv(*STANDARD_ROWS)
    assert "0 new people, 0 updated, 0 new wiring profile version(s), 2 unchanged" in out
    with Session(engine) as s:
        after = [(p.id, p.updated_at) for p in s.exec(select(Person).order_by(Person.id))]
    assert before == after
    assert _counts(engine) == (3, 2, 1)


def test_newer_assessment_adds_a_version_and_keeps_the_old(import_csv, engine):  # type: ignore[no-untyped-def]
    import_csv(*STANDARD_ROWS)
    import_csv(f"{REP},{MANAGER},Root,Hunter,Engine,75,65,48,,time_pressure,2026-11-01", name="newer.csv")
    with Session(engine) as s:
        rep = queries.get_person(s, "T0TEAM", REP)
        versions = queries.profile_versions(s, "T0TEAM", rep.id)
    assert [(v.version, v.coachability, v.resilience) for v in versions] == [(1, 72, 40), (2, 75, 48)]
    assert versions[0].deal_killers == ["coaching_resistance"] and versions[1].deal_killers == []


def test_one_bad_row_rejects_the_whole_file_listing_every_bad_row(cli, tmp_path, engine):  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + "\n".join(
            [
                f"{REP},{MANAGER},Root,,,72,65,40,,,2026-11-01",  # row 1: fine
                f"{REP2},{MANAGER},Wizard,,,101,abc,40,,,2026-13-01",  # row 2: several problems
                "UBOTUSER,,Engine,,,50,50,50,,,",  # row 3: a bot
                "nobody@example.com,,Engine,,,50,50,50,greed,,",  # row 4: unknown email + trait
                f"{REP},,Engine,,,50,50,50,,,",  # row 5: duplicate rep
                "UGONE,UFOREIGN,Engine,,,50,50,50,,,",  # row 6: deactivated, other team
            ]
        )
        + "\n"
    )
    code, out, err = cli("import", str(path))
    assert code == 1
    assert "nothing was changed" in err
    assert "row 1:" not in err
    assert "row 2: archetype 'Wizard' is not in the playbook" in err
    assert "coachability 101 is outside 0–100" in err and "drive 'abc' is not a whole number" in err
    assert "start_date '2026-13-01' is not a date" in err
    assert "row 3: rep UBOTUSER is a bot" in err
    assert "row 4: rep nobody@example.com isn't a member" in err and "deal-killer trait 'greed'" in err
    assert "row 5: rep appears again (first on row 1)" in err
    assert "row 6: rep UGONE has been deactivated" in err and "manager UFOREIGN belongs to another workspace" in err
    assert _counts(engine) == (0, 0, 0)


def test_file_level_problems(cli, tmp_path, engine):  # type: ignore[no-untyped-def]
    cases = {
        "typo.csv": (
            "rep,archetype,coachabilty,drive,resilience\nUREP1,Root,1,2,3\n",
            "unknown column(s): coachabilty",
        ),
        "empty.csv": ("", "the CSV file is empty"),
        "noheader.json": ("{not json", "not valid JSON"),
        "shape.json": ('{"rows": []}', "JSON must be a list of objects"),
        "norows.csv": (HEADER, "the file has no rows"),
    }
    for name, (content, expected) in cases.items():
        (tmp_path / name).write_text(content)
        code, _, err = cli("import", str(tmp_path / name))
        assert code == 1 and expected in err, (name, err)
    code, _, err = cli("import", str(tmp_path / "missing.csv"))
    assert code == 1 and "cannot be read" in err
    assert _counts(engine) == (0, 0, 0)


def test_json_import_with_emails_and_lists(cli, tmp_path, engine):  # type: ignore[no-untyped-def]
    path = tmp_path / "roster.json"
    path.write_text(
        json.dumps(
            {
                "people": [
                    {
                        "rep": "riley@example.com",
                        "manager": "morgan@example.com",
                        "archetype": "grandmaster",
                        "seat_archetype": "Grandmaster",
                        "coachability": 55,
                        "drive": 60,
                        "resilience": 65,
                        "deal_killers": ["Commission breath"],
                        "gaps": ["Time pressure", "closing"],
                        "start_date": "2026-10-01",
                    }
                ]
            }
        )
    )
    code, out, err = cli("import", str(path))
    assert code == 0, err
    with Session(engine) as s:
        rep = queries.get_person(s, "T0TEAM", REP)
        profile = queries.latest_profile(s, "T0TEAM", rep.id)
    assert profile.deal_killers == ["commission_breath"] and profile.gaps == ["closing", "time_pressure"]


def test_dry_run_writes_nothing(cli, tmp_path, engine):  # type: ignore[no-untyped-def]
    path = tmp_path / "r.csv"
    path.write_text(HEADER + STANDARD_ROWS[0] + "\n")
    code, out, _ = cli("import", str(path), "--dry-run")
    assert code == 0 and "dry run" in out and "1 new wiring profile" in out
    assert _counts(engine) == (0, 0, 0)


def test_shipped_example_file_imports(cli, slack, engine):  # type: ignore[no-untyped-def]
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "roster.csv"
    for i, line in enumerate(example.read_text().splitlines()[1:]):
        email = line.split(",")[0]
        slack.fake.add_user(f"UEX{i}", email.split("@")[0].title(), email=email)
        manager = line.split(",")[1]
        if manager and "@" in manager:
            slack.fake.add_user(f"UEXM{i}", manager.split("@")[0].title(), email=manager)
    code, out, err = cli("import", str(example))
    assert code == 0, err
    assert _counts(engine)[1] == len(example.read_text().splitlines()) - 1
