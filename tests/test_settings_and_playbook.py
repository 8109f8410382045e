"""Settings validation and playbook loading: clear, named errors, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.playbook.models import CAUSES, PlaybookError, PlaybookFile, load_playbook
from bot.playbook.schema import SCHEMA_FILE, render
from bot.settings import Settings, SettingsError, load_settings
from tests.rows import present

DEFAULT_YML = Path(__file__).resolve().parent.parent / "bot" / "playbook" / "default.yml"


def test_valid_settings_and_defaults(tmp_path):
    s = load_settings(
        environ={
            "SLACK_BOT_TOKEN": "xoxb-1",
            "COACHBOT_ADMINS": "U01ABC, W02DEF",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "DATABASE_URL": "postgres://u@h/db",
        },
        dotenv_path="",
    )
    assert s.admin_user_ids == frozenset({"U01ABC", "W02DEF"})
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert s.database_url == "postgresql://u@h/db"
    assert s.default_tz == "UTC" and s.log_level == "INFO"


def test_every_bad_variable_is_named(tmp_path):
    with pytest.raises(SettingsError) as err:
        load_settings(
            required=["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"],
            environ={
                "SLACK_BOT_TOKEN": "xoxp-user-token",
                "SLACK_APP_TOKEN": "nope",
                "DATABASE_URL": "mysql://x",
                "SLACK_API_URL": "ftp://x",
                "COACHBOT_ADMINS": "bob",
                "COACHBOT_DEFAULT_TZ": "Mars/Base",
                "COACHBOT_PLAYBOOK": str(tmp_path / "missing.yml"),
                "COACHBOT_LOG_LEVEL": "LOUD",
            },
            dotenv_path="",
        )
    text = "\n".join(err.value.problems)
    for name in (
        "SLACK_SIGNING_SECRET is missing",
        "SLACK_BOT_TOKEN must be a bot token",
        "SLACK_APP_TOKEN",
        "DATABASE_URL",
        "SLACK_API_URL",
        "COACHBOT_ADMINS",
        "COACHBOT_DEFAULT_TZ 'Mars/Base'",
        "COACHBOT_PLAYBOOK",
        "COACHBOT_LOG_LEVEL",
    ):
        assert name in text
    assert len(err.value.problems) == 9


def test_dotenv_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nCOACHBOT_DEFAULT_TZ=Europe/Berlin\n")
    s = load_settings(environ={"COACHBOT_DEFAULT_TZ": "Asia/Tokyo"}, dotenv_path=str(env_file))
    assert s.bot_token == "xoxb-from-file" and s.default_tz == "Asia/Tokyo"


def test_cli_config_error_is_one_line_per_variable_and_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    for var in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COACHBOT_DEFAULT_TZ", "Nowhere/Land")
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "coachbot: configuration error: SLACK_BOT_TOKEN is missing: set it in the environment or in .env "
        "(see .env.example)",
        "coachbot: configuration error: SLACK_APP_TOKEN is missing: set it in the environment or in .env "
        "(see .env.example)",
        "coachbot: configuration error: COACHBOT_DEFAULT_TZ 'Nowhere/Land' is not an IANA time zone such as "
        "Europe/Berlin",
    ]


def test_default_playbook_has_the_three_archetypes_and_every_cause():
    pb = load_playbook()
    assert [a.name for a in pb.archetypes.values()] == ["Engine", "Root", "Grandmaster"]
    assert set(pb.causes) == set(CAUSES)
    assert {"coaching_resistance", "ethical_flexibility", "commission_breath"} <= set(pb.deal_killers)
    assert "time_pressure" in pb.gaps
    for cause in pb.causes.values():
        for arch in pb.archetypes:
            brief = cause.brief_for(arch)
            assert brief.hypothesis and brief.opening_question
    for gap in pb.gaps.values():
        for arch in pb.archetypes:
            assert gap.drill_for(arch)


def test_custom_playbook_with_own_archetype_names(tmp_path):
    data = yaml.safe_load(DEFAULT_YML.read_text())
    data["archetypes"] = {
        "hunter": {**data["archetypes"]["engine"], "name": "Hunter"},
        "farmer": {**data["archetypes"]["root"], "name": "Farmer"},
    }
    for gap in data["gaps"].values():
        gap["drills"] = {"default": gap["drills"]["default"]}
    for cause in data["causes"].values():
        cause["briefs"] = {"default": cause["briefs"]["default"]}
    data["onboarding"]["by_archetype"] = {"default": data["onboarding"]["by_archetype"]["default"]}
    path = tmp_path / "ours.yml"
    path.write_text(yaml.safe_dump(data))
    pb = load_playbook(str(path))
    assert present(pb.find_archetype("farmer")).name == "Farmer"
    assert present(pb.find_archetype("Hunter")).key == "hunter"
    assert pb.find_archetype("Engine") is None


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["archetypes"]["engine"].pop("name"), "archetypes.engine.name: missing or empty text"),
        (lambda d: d["causes"].pop("motivation"), "causes.motivation: missing"),
        (
            lambda d: d["gaps"]["discovery"]["drills"].update(wizard="x"),
            "gaps.discovery.drills.wizard: 'wizard' is not an archetype",
        ),
        (lambda d: d["gaps"]["discovery"]["drills"].pop("default"), "gaps.discovery.drills.default: missing"),
        (lambda d: d["archetypes"]["root"].update(name="R" * 60), "archetypes.root.name: 60 characters"),
        (lambda d: d.update(version=7), "version: must be 1"),
        (
            lambda d: d["deal_killers"].update({"Bad Key": {"name": "x", "guidance": "y"}}),
            "deal_killers.Bad Key: keys must be",
        ),
        (
            lambda d: d["archetypes"]["engine"].update(colour="red"),
            "archetypes.engine.colour: unknown key; use name, summary, coaching_style, first_practice_step",
        ),
        (lambda d: d["causes"].update(luck=d["causes"]["motivation"]), "causes.luck: unknown cause; use seat_fit,"),
        (lambda d: d["prompts"].update(no_profile="Hi {name}"), "prompts.no_profile: bad placeholder 'name'; use"),
        (lambda d: d["archetypes"]["root"].update(summary=7), "archetypes.root.summary: must be text"),
    ],
)
def test_broken_playbook_names_file_key_and_reason(tmp_path, mutate, expected):
    data = yaml.safe_load(DEFAULT_YML.read_text())
    mutate(data)
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PlaybookError) as err:
        load_playbook(str(path))
    assert f"playbook {path}: {expected}" in str(err.value)


def test_a_playbook_without_second_opinion_words_reads_them_from_the_default(tmp_path):
    data = yaml.safe_load(DEFAULT_YML.read_text())
    shipped = load_playbook().second_opinion
    del data["second_opinion"]["patterns"]
    data["second_opinion"]["missed_cycles"] = 3
    path = tmp_path / "ours.yml"
    path.write_text(yaml.safe_dump(data))
    ours = load_playbook(str(path)).second_opinion
    assert ours.missed_cycles == 3 and ours.patterns == shipped.patterns
    assert ours.patterns.of("not_bought_in").label == "missed without check-ins"
    del data["second_opinion"]
    path.write_text(yaml.safe_dump(data))
    assert load_playbook(str(path)).second_opinion == shipped


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda o: o["patterns"].pop("met_but_flat"),
            "second_opinion.patterns.met_but_flat: missing (must be a non-empty mapping)",
        ),
        (
            lambda o: o["patterns"]["not_bought_in"].pop("reading"),
            "second_opinion.patterns.not_bought_in.reading: missing or empty text",
        ),
        (
            lambda o: o["patterns"]["not_bought_in"].update(label="L" * 41),
            "second_opinion.patterns.not_bought_in.label: 41 characters, at most 40 allowed",
        ),
        (
            lambda o: o["patterns"].update(lazy={"label": "x", "reading": "y"}),
            "second_opinion.patterns.lazy: unknown key; use effort_without_movement, not_bought_in, met_but_flat",
        ),
    ],
)
def test_second_opinion_words_have_one_line_problems(tmp_path, mutate, expected):
    data = yaml.safe_load(DEFAULT_YML.read_text())
    mutate(data["second_opinion"])
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PlaybookError) as err:
        load_playbook(str(path))
    assert err.value.problems == [expected]


def test_broken_playbook_stops_cli_with_exit_2(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bad.yml"
    path.write_text("archetypes: [unclosed\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COACHBOT_PLAYBOOK", str(path))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-x")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert main(["run", "--http"]) == 2
    err = capsys.readouterr().err
    assert f"coachbot: playbook {path}: is not valid YAML (line" in err and "Traceback" not in err


def test_unreachable_database_is_one_clear_line_without_the_password(monkeypatch, tmp_path, capsys):
    from tests.processes import free_port

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://coach:s3cret-pw@127.0.0.1:{free_port()}/coachbot")
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("coachbot: cannot use the database at postgresql://coach:***@")
    assert "s3cret-pw" not in err[0] and "Traceback" not in err[0]


def test_every_playbook_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_YML.read_text())
    data["gaps"]["discovery"]["drills"]["wizard"] = "x"  # a reference to an archetype the file lacks
    del data["archetypes"]["engine"]["name"]
    data["practice_formats"]["role_play"] = "R" * 41
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PlaybookError) as err:
        load_playbook(str(path))
    assert err.value.problems == [
        "archetypes.engine.name: missing or empty text",
        "practice_formats.role_play: 41 characters, at most 40 allowed",
        "gaps.discovery.drills.wizard: 'wizard' is not an archetype in this playbook",
    ]


def test_published_schema_is_what_the_models_generate() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(), (
        "bot/playbook/playbook.schema.json is out of date: run python -m bot.playbook.schema"
    )


def test_default_playbook_points_editors_at_the_schema_and_validates_against_it() -> None:
    text = DEFAULT_YML.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=playbook.schema.json"
    assert (DEFAULT_YML.parent / "playbook.schema.json").is_file()
    data = yaml.safe_load(text)
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert set(schema["required"]) <= set(data) <= set(schema["properties"])
    PlaybookFile.model_validate(data)  # the models the committed schema was generated from (test above)


def test_secrets_never_appear_in_errors_or_reprs(tmp_path: Path) -> None:
    good = load_settings(
        environ={
            "SLACK_BOT_TOKEN": "xoxb-bot-secret",
            "SLACK_SIGNING_SECRET": "signing-secret",
            "SLACK_APP_TOKEN": "xapp-app-secret",
            "DATABASE_URL": "postgresql://coach:db-secret@db.example/coachbot",
        },
        dotenv_path="",
        cwd=tmp_path,
    )
    assert good.bot_token == "xoxb-bot-secret" and good.database_url.endswith(":db-secret@db.example/coachbot")
    shown = repr(good) + str(good)
    assert "postgresql://coach:***@db.example/coachbot" in shown
    for secret in ("bot-secret", "signing-secret", "app-secret", "db-secret"):
        assert secret not in shown
    with pytest.raises(SettingsError) as err:
        load_settings(
            environ={
                "SLACK_BOT_TOKEN": "xoxp-user-secret",
                "SLACK_APP_TOKEN": "app-secret",
                "DATABASE_URL": "postgresql://coach:db-secret@db:port/x",
            },
            dotenv_path="",
            cwd=tmp_path,
        )
    assert len(err.value.problems) == 3 and err.value.__cause__ is None and err.value.__suppress_context__
    assert all(word not in str(err.value) for word in ("user-secret", "app-secret", "db-secret"))


def test_settings_built_directly_read_no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACHBOT_DEFAULT_TZ", "Asia/Tokyo")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-from-the-environment")
    settings = Settings(bot_token="xoxb-1", admin_user_ids=frozenset({"U01ABC"}))
    assert settings.default_tz == "UTC" and settings.app_token == "" and settings.bot_token == "xoxb-1"
    assert settings.database_url == "sqlite:///coachbot.db" and settings.secrets() == ["xoxb-1"]
