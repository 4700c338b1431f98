"""The sync passphrase: strong enough before a bundle is written with it, and never stored."""

from __future__ import annotations

import pytest

from app.models.core.errors import ValidationError
from app.models.sync import passphrase as sync_passphrase
from app.models.sync import sync
from tests.builders.sync import PASS, make_office

NAMES = ["红路馨居社区", "红路馨居社区服务中心"]


@pytest.mark.parametrize(("phrase", "why"), [
    ("", "请填写"),
    ("abc12", "太短"),
    ("口令-2026", "太短"),  # 2 characters of Chinese count 4, with -2026: 9
    ("13812345678", "只有数字"),
    ("2026 0101 2026", "只有数字"),
    ("aaaaaaaaaaaa", "很少几个字符"),
    ("abababab12", "很少几个字符"),
    ("abcdefghijk", "顺序"),
    ("qwertyuiop", "顺序"),
    ("Password2026!", "常见"),
    ("anju-password-1", "常见"),
    ("社区同步口令-2026", "常见"),
    ("woaini1314520", "常见"),
    ("红路馨居社区2026", "名称"),
    ("honglu-xinju-2026", "名称"),
    ("HongLuXinJu#88", "名称"),
])
def test_weak_passphrases_are_refused_with_the_reason(phrase, why):
    found = sync_passphrase.problem(phrase, NAMES)
    assert found is not None and why in found, (phrase, found)
    with pytest.raises(ValidationError) as err:
        sync_passphrase.check(phrase, NAMES)
    assert sync_passphrase.ADVICE in str(err.value)


@pytest.mark.parametrize("phrase", [
    PASS, "青松楼三单元秋", "river-tiger-7-lamp", "红路馨居-青松楼-第3网格-2026", "Kq7!mountain-bus",
])
def test_strong_passphrases_pass(phrase):
    assert sync_passphrase.problem(phrase, NAMES) is None


def test_a_weak_passphrase_writes_no_bundle_but_still_reads_old_ones(tmp_path):
    db, _ = make_office(tmp_path / "a.db")
    stick = tmp_path / "stick"
    stick.mkdir()
    with pytest.raises(ValidationError, match="名称"):
        sync.export_to_folder(db, stick, "红路馨居2026", scrypt_n=16)
    assert list(stick.iterdir()) == []
    # Reading is never refused for the passphrase's strength (the bundles already on a stick).
    assert sync.import_from_folder(db, stick, "口令").rejected == 0
    db.close()


def test_the_command_line_says_why(tmp_path, capsys):
    from app.cli import main

    make_office(tmp_path / "a.db")[0].close()
    stick = tmp_path / "stick"
    stick.mkdir()
    phrase = tmp_path / "phrase.txt"
    phrase.write_text("12345678901\n", encoding="utf-8")
    assert main(["sync-export", "--db", str(tmp_path / "a.db"), "--to", str(stick), "--passphrase-file", str(phrase)]) == 2
    err = capsys.readouterr().err
    assert "只有数字" in err and "至少 10 个" in err and list(stick.iterdir()) == []
