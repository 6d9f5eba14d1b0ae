"""customers-admin prints real characters, not \\u escapes; --local finds the stack of the folder it
runs in (the README's commands run in the checkout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from customers_admin import cli

from tests.unit.conftest import TABLE


def test_names_print_as_written(table, capsys):
    assert cli.main(["--table", TABLE, "accounts", "create", "--name", "Café Ünïcode — 東京…"]) == 0
    out = capsys.readouterr().out
    assert "Café Ünïcode — 東京…" in out and "\\u" not in out
    assert json.loads(out)["name"] == "Café Ünïcode — 東京…"


def test_errors_print_as_written_too(table, capsys):
    assert cli.main(["--table", TABLE, "keys", "create", "--account", "acct_Ünknown", "--mode", "test"]) == 2
    err = capsys.readouterr().err
    assert "acct_Ünknown" in err and "\\u" not in err


def test_local_reads_the_stack_file_of_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert cli.default_stack_file() == cli.ROOT / ".local" / "stack.json"
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "stack.json").write_text("{}")
    assert cli.default_stack_file() == tmp_path / ".local" / "stack.json"
