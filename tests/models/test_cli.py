"""The command line: sub-commands share --db, print a summary, and exit non-zero on bad input."""

from __future__ import annotations

import json

from app.cli import main

STATS_KEYS = {
    "households", "residents", "labour_force", "employed", "employment_rate",
    "zero_employment_households", "training_person_times_year", "open_mediation_cases", "visits_overdue",
}


def test_demo_stats_check_round(tmp_path, capsys, demo_login):
    path = tmp_path / "demo.db"
    assert main(["demo", "--db", str(path), "--households", "30", "--seed", "5"]) == 0
    capsys.readouterr()
    assert main(["stats", "--db", str(path), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(out)
    assert STATS_KEYS <= set(figures)
    assert figures["households"] == 30
    assert 0 <= figures["employment_rate"] <= 1
    assert main(["check", "--db", str(path)]) == 0
    assert "正常" in capsys.readouterr().out


def test_db_option_also_accepted_before_the_command(tmp_path, capsys, demo_login):
    path = tmp_path / "demo.db"
    assert main(["--db", str(path), "demo", "--households", "5"]) == 0
    capsys.readouterr()
    assert main(["--db", str(path), "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["households"] == 5


def test_not_a_database_gives_a_clear_error(tmp_path, capsys):
    path = tmp_path / "notes.db"
    path.write_text("hello", encoding="utf-8")
    assert main(["stats", "--db", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert "错误" in err and "不是" in err
    assert path.read_text(encoding="utf-8") == "hello"


def test_demo_refuses_a_database_that_has_data(tmp_path, capsys):
    path = tmp_path / "demo.db"
    assert main(["demo", "--db", str(path), "--households", "5"]) == 0
    assert main(["demo", "--db", str(path), "--households", "5"]) != 0
