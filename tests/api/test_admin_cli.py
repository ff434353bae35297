"""`podium admin create-org`: bootstraps an organisation on the same table the functions use."""

import json

import pytest

from podium_cli.main import main


def test_create_org_prints_a_working_admin_key(api, capsys):
    assert main(["admin", "create-org", "globex", "--name", "Globex", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["org"] == "globex"
    assert created["key"].startswith("pdk_globex_")
    reply = api.call("GET", "/v1/programs", key=created["key"])
    assert reply.status == 200
    assert reply.json == {"programs": []}


def test_create_org_twice_is_refused(api, capsys):
    assert main(["admin", "create-org", "globex"]) == 0
    assert main(["admin", "create-org", "globex"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_create_org_without_a_table_says_what_to_set(capsys, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PODIUM_TABLE", raising=False)
    assert main(["admin", "create-org", "globex"]) == 2
    assert "PODIUM_TABLE" in capsys.readouterr().err
