"""`coachbot import`: all-or-nothing, row-numbered errors, idempotent, versioned wiring."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from sqlmodel import Session, col, select

from storage import queries
from storage.models import Person, Seat, WiringProfile
from tests.conftest import ADMIN, HEADER, MANAGER, OTHER_MANAGER, REP, REP2, STANDARD_ROWS, STRANGER
from tests.rows import id_of, present


def _counts(engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return (queries.count_rows(s, Person), queries.count_rows(s, WiringProfile), queries.count_rows(s, Seat))


def test_import_creates_people_seats_and_profiles(import_csv, engine):
    out = import_csv(*STANDARD_ROWS)
    assert "3 new people" in out and "2 new wiring profile version(s)" in out
    with Session(engine) as s:
        rep = queries.get_person(s, "T0TEAM", REP)
        assert rep is not None and rep.manager_user_id == MANAGER and rep.tz == "America/Chicago"
        assert present(rep.start_date).isoformat() == "2026-11-01"
        mgr = queries.get_person(s, "T0TEAM", MANAGER)
        assert mgr is not None and mgr.role == "manager"
        profile = present(queries.latest_profile(s, "T0TEAM", id_of(rep)))
        assert (profile.archetype, profile.coachability, profile.drive, profile.resilience) == ("root", 72, 65, 40)
        assert profile.deal_killers == ["coaching_resistance"]
        assert profile.gaps == ["discovery", "time_pressure"]
        seat = present(queries.get_seat(s, "T0TEAM", rep.seat_id))
        assert (seat.name, seat.archetype) == ("Hunter", "engine")


def test_reimport_same_file_changes_nothing(import_csv, engine):
    import_csv(*STANDARD_ROWS)
    with Session(engine) as s:
        before = [(p.id, p.updated_at) for p in s.exec(select(Person).order_by(col(Person.id)))]
    out = import_csv(*STANDARD_ROWS)
    assert "0 new people, 0 updated, 0 new wiring profile version(s), 2 unchanged" in out
    with Session(engine) as s:
        after = [(p.id, p.updated_at) for p in s.exec(select(Person).order_by(col(Person.id)))]
    assert before == after
    assert _counts(engine) == (3, 2, 1)


def test_newer_assessment_adds_a_version_and_keeps_the_old(import_csv, engine):
    import_csv(*STANDARD_ROWS)
    import_csv(f"{REP},{MANAGER},Root,Hunter,Engine,75,65,48,,time_pressure,2026-11-01", name="newer.csv")
    with Session(engine) as s:
        rep = present(queries.get_person(s, "T0TEAM", REP))
        versions = queries.profile_versions(s, "T0TEAM", id_of(rep))
    assert [(v.version, v.coachability, v.resilience) for v in versions] == [(1, 72, 40), (2, 75, 48)]
    assert versions[0].deal_killers == ["coaching_resistance"] and versions[1].deal_killers == []


def test_one_bad_row_rejects_the_whole_file_listing_every_bad_row(cli, tmp_path, engine):
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
    assert "row 4: rep nobody@example.com isn't a member" in err
    assert "deal_killers 'greed' is not a deal-killer trait in the playbook" in err
    assert "row 5: rep appears again (first on row 1)" in err
    assert "row 6: rep UGONE has been deactivated" in err and "manager UFOREIGN belongs to another workspace" in err
    assert _counts(engine) == (0, 0, 0)


def test_file_level_problems(cli, tmp_path, engine):
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


def test_json_import_with_emails_and_lists(cli, tmp_path, engine):
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
        rep = present(queries.get_person(s, "T0TEAM", REP))
        profile = present(queries.latest_profile(s, "T0TEAM", id_of(rep)))
    assert profile.deal_killers == ["commission_breath"] and profile.gaps == ["closing", "time_pressure"]


def test_dry_run_writes_nothing(cli, tmp_path, engine):
    path = tmp_path / "r.csv"
    path.write_text(HEADER + STANDARD_ROWS[0] + "\n")
    code, out, _ = cli("import", str(path), "--dry-run")
    assert code == 0 and "dry run" in out and "1 new wiring profile" in out
    assert _counts(engine) == (0, 0, 0)


def test_shipped_example_file_imports(cli, slack, engine):
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


def _rejected(cli, path: Path) -> list[str]:
    """The problem lines of a refused import (exit 1, no traceback)."""
    code, out, err = cli("import", str(path))
    assert code == 1, (out, err)
    assert "Traceback" not in err and "nothing was changed" in err
    return [line.strip() for line in err.splitlines()[1:]]


def _person(rep: object, **cells: object) -> dict[str, object]:
    return {"rep": rep, "archetype": "Root", "coachability": 50, "drive": 50, "resilience": 50, **cells}


def test_deeply_nested_or_oversized_json_is_one_line_not_a_traceback(cli, tmp_path, engine):
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    assert _rejected(cli, nested) == ["the JSON is nested far too deeply; a roster is a list of flat objects"]
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps([_person(REP)]).replace('"drive": 50', '"drive": 5' + "0" * 5000))
    assert _rejected(cli, huge) == ["the JSON holds a number too long to read"]
    assert _counts(engine) == (0, 0, 0)


def test_json_scores_must_be_whole_numbers_not_lists_booleans_or_fractions(cli, tmp_path, engine):
    path = tmp_path / "scores.json"
    rows = [
        _person(REP, coachability=[50]),
        _person(REP2, drive=50.5),
        _person(STRANGER, resilience=True),
        _person(OTHER_MANAGER, coachability={"score": 50}, drive=None),
        _person([ADMIN], gaps=[["closing"]]),
        _person(MANAGER, coachability="50", drive=60.0, resilience=" 70 "),  # fine: digits, a whole float
    ]
    path.write_text(json.dumps(rows))
    problems = _rejected(cli, path)
    assert problems == [
        "row 1: coachability is a list, not a whole number from 0 to 100",
        "row 2: drive '50.5' is not a whole number from 0 to 100",
        "row 3: resilience is true/false, not a whole number from 0 to 100",
        "row 4: coachability is an object, not a whole number from 0 to 100; drive is empty",
        "row 5: rep is a list, not a single value; gaps must be names separated by ';' or a list of names, not a list",
    ]
    assert _counts(engine) == (0, 0, 0)
    path.write_text(json.dumps([rows[-1]]))
    code, _, err = cli("import", str(path))
    assert code == 0, err
    with Session(engine) as s:
        person = present(queries.get_person(s, "T0TEAM", MANAGER))
        profile = present(queries.latest_profile(s, "T0TEAM", id_of(person)))
    assert (profile.coachability, profile.drive, profile.resilience) == (50, 60, 70)


def test_csv_scores_with_signs_underscores_or_fractions_are_refused(cli, tmp_path, engine):
    path = tmp_path / "scores.csv"
    path.write_text(f"rep,archetype,coachability,drive,resilience\n{REP},Root,1_0,+5,50.5\n{REP2},Root,50.0,007,\n")
    assert _rejected(cli, path) == [
        "row 1: coachability '1_0' is not a whole number from 0 to 100; "
        "drive '+5' is not a whole number from 0 to 100; "
        "resilience '50.5' is not a whole number from 0 to 100",
        "row 2: resilience is empty",
    ]


def test_duplicate_columns_are_refused_in_one_line(cli, tmp_path, engine):
    path = tmp_path / "dup.csv"
    path.write_text(f"rep,archetype,coachability,drive,resilience,Drive \n{REP},Root,50,10,50,90\n")
    assert _rejected(cli, path) == ["column(s) named more than once in the first line: drive; keep one of each"]
    path = tmp_path / "dup.json"
    path.write_text(
        f'[{{"rep": "{REP}", "archetype": "Root", "coachability": 1, "drive": 1, "drive": 2, "resilience": 1}}]'
    )
    assert _rejected(cli, path) == ["column(s) named more than once in one object: drive; keep one of each"]
    assert _counts(engine) == (0, 0, 0)


def test_unreadable_csv_field_or_a_directory_is_refused_cleanly(cli, tmp_path, engine):
    path = tmp_path / "big.csv"
    path.write_text(f"rep,archetype,coachability,drive,resilience\n{REP},Root,50,50,50\n{REP2},{'x' * 200_000},1,2,3\n")
    assert _rejected(cli, path) == ["CSV line 3 cannot be read (field larger than field limit (131072))"]
    (tmp_path / "folder.csv").mkdir()
    problems = _rejected(cli, tmp_path / "folder.csv")
    assert len(problems) == 1 and "folder.csv: cannot be read" in problems[0]


SECRETS = {
    "bot": "xoxb-1234-secret",
    "app": "xapp-1-A0123-4567-abcdef",
    "user": "xoxp-99-leak",
    "short": "xoxe-9",
    "key": "9f8e7d6c5b4a39281706",
    "email": "xoxb-77-hidden@example.com",
    "long": "Grandmaster but really a much longer note than thirty characters",
}


def test_import_errors_never_echo_secret_looking_values(cli, tmp_path, engine):
    path = tmp_path / "leaky.csv"
    path.write_text(
        "rep,archetype,coachability,drive,resilience,gaps,start_date\n"
        f"{SECRETS['bot']},Root,50,50,50,,\n"
        f"{REP},{SECRETS['app']},50,50,50,,\n"
        f"{REP2},Root,50,{SECRETS['key']},50,{SECRETS['user']},{SECRETS['short']}\n"
        f'{SECRETS["email"]},"{SECRETS["long"]}",50,50,50,Wizardry,\n'
        f'{STRANGER},Root,50,50,50,,"2026-01-01\x1b[2J"\n'
    )
    problems = _rejected(cli, path)
    text = "\n".join(problems)
    for secret in SECRETS.values():
        assert secret not in text, secret
    for piece in ("1234", "A0123", "9f8e7d6c", "leak", "xoxe", "77-hidden", "much longer", "\x1b"):
        assert piece not in text, piece
    assert problems == [
        "row 1: the rep value is neither a Slack user id (U…) nor an email",
        "row 2: the archetype value is not in the playbook (Engine, Root, Grandmaster)",
        "row 3: the drive value is not a whole number from 0 to 100; the gaps value is not a gap in the playbook; "
        "the start_date value is not a date like 2026-01-31",
        "row 4: the rep value isn't a member of this workspace as far as Slack tells me; "
        "the archetype value is not in the playbook (Engine, Root, Grandmaster); "
        "gaps 'Wizardry' is not a gap in the playbook",
        "row 5: the start_date value is not a date like 2026-01-31",
    ]


def test_secret_looking_column_names_are_counted_not_shown(cli, tmp_path, engine):
    path = tmp_path / "header.csv"
    path.write_text(f"rep,archetype,coachability,drive,resilience,{SECRETS['bot']},notes\n{REP},Root,1,2,3,x,y\n")
    problems = _rejected(cli, path)
    assert len(problems) == 1 and problems[0].startswith("unknown column(s): notes, 1 more not shown (known: rep,")
    assert SECRETS["bot"] not in problems[0]


def _everything(engine) -> dict[str, list[dict]]:
    from tests.import_snapshot import table_rows

    with engine.connect() as conn:
        return {table.name: rows for table, rows in table_rows(conn)}


def _wipe(engine) -> None:
    """Back to a fresh copy's state: no rows, no sequence used."""
    from tests.conftest import schema_tables

    with engine.begin() as conn:
        for table in reversed(schema_tables()):
            conn.execute(table.delete())
        if engine.dialect.name == "postgresql":
            for (sequence,) in conn.exec_driver_sql(
                "SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public'"
            ):
                conn.exec_driver_sql(f"SELECT setval('{sequence}', 1, false)")


def test_a_replayed_import_writes_back_what_the_command_wrote(cli, slack, engine, tmp_path, monkeypatch):
    """tests/import_snapshot.py: the tests' standard import runs once per process and is written back
    after that. What it writes back is what the command left (rows, ids, the fake's counters); it never
    replays onto a database that is not fresh."""
    from tests.import_snapshot import ImportReplay

    path = tmp_path / "replayed.csv"
    path.write_text(HEADER + "\n".join(STANDARD_ROWS) + "\n")
    ran: list[str] = []

    def command() -> str:
        ran.append("import")
        code, out, err = cli("import", str(path))
        assert code == 0, err
        return out

    replay = ImportReplay(engine, slack.fake, monkeypatch)
    name = f"replayed-{id(engine)}-{tmp_path.name}.csv"  # a key no other test records
    ts_before = repr(slack.fake.ts)
    out = replay.run(STANDARD_ROWS, name, command)
    assert ran == ["import"] and "3 new people" in out
    by_command, ts_after = _everything(engine), repr(slack.fake.ts)
    assert by_command["person"] and ts_after != ts_before  # it wrote people and posted the manager's offer

    assert "2 unchanged" in replay.run(STANDARD_ROWS, name, command)
    assert ran == ["import", "import"]  # not fresh any more: the command ran again (and changed nothing)
    assert _everything(engine) == by_command

    _wipe(engine)
    slack.fake.ts = itertools.count(int(ts_before[6:-1]))
    assert replay.run(STANDARD_ROWS, name, command) == out
    assert ran == ["import", "import"]  # written back this time
    assert _everything(engine) == by_command
    assert repr(slack.fake.ts) == ts_after
