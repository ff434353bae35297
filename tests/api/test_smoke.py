from conftest import Client

PROGRAM = {
    "id": "sprint",
    "name": "Sprint",
    "timezone": "UTC",
    "metrics": [{"key": "calls"}, {"key": "nps", "period_aggregate": "latest", "team_rollup": "mean"}],
}


def test_smoke(admin: Client) -> None:
    r = admin.call("PUT", "/v1/programs/sprint", PROGRAM)
    assert r.status == 200, r.text
    r = admin.call(
        "PUT",
        "/v1/programs/sprint/roster",
        "id,name,email,team,division\nann,Ann,,Red,North\nbob,Bob,,Blue,North\n",
        content_type="text/csv",
    )
    assert r.status == 200, r.text
    r = admin.call(
        "POST",
        "/v1/programs/sprint/submissions",
        [{"participant": "ann", "values": {"calls": 3}}, {"participant": "zed", "values": {"calls": 1}}],
    )
    assert r.status == 200, r.text
    print(r.json)
    r = admin.call("GET", "/v1/openapi.json")
    assert r.status == 200, r.text
