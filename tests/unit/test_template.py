"""template.yaml: the one declaration of the table and routes that tests and the local stack build from."""

import re
from pathlib import Path

from podium.adapters.template import load_template
from podium.local.apigw import routes_from_template

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_is_on_demand_with_a_stream_of_both_images_and_ttl():
    table = load_template(ROOT / "template.yaml")["Resources"]["PodiumTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]


def test_every_routed_handler_exists_and_each_route_is_served_once():
    routes = routes_from_template(load_template(ROOT / "template.yaml"))
    keys = [r.route_key for r in routes]
    assert len(keys) == len(set(keys))
    for r in routes:
        module, _, function = r.handler.rpartition(".")
        source = (ROOT / r.code_uri / f"{module}.py").read_text()
        assert f"def {function}(" in source


def test_functions_get_least_privilege_on_the_table_only():
    resources = load_template(ROOT / "template.yaml")["Resources"]
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for policy in resource["Properties"]["Policies"]:
            for statement in policy["Statement"]:
                assert all(not a.endswith("*") for a in statement["Action"]), name
                assert "dynamodb:DeleteTable" not in statement["Action"]
                assert statement["Resource"] != "*", name
    ingest = resources["IngestFunction"]["Properties"]["Policies"][0]["Statement"][0]["Action"]
    assert "dynamodb:UpdateItem" not in ingest and "dynamodb:DeleteItem" not in ingest


def test_layer_requirements_match_the_package_dependencies():
    pyproject = (ROOT / "pyproject.toml").read_text()
    declared = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.S | re.M)
    assert declared is not None
    from_pyproject = sorted(re.findall(r'^\s+"([^"]+)",', declared.group(1), re.M))
    requirements = (ROOT / "layers" / "podium" / "requirements.txt").read_text().splitlines()
    assert sorted(line for line in requirements if line and not line.startswith("#")) == from_pyproject
