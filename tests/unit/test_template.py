"""template.yaml: the one declaration of the table and routes that tests and the local stack build from."""

import re
from pathlib import Path

from podium_cli.local.apigw import routes_from_template
from podium_cli.template import load_template

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
            # An `!If` grants one of its statements: check both.
            written = [b for s in policy["Statement"] for b in (s["Fn::If"][1:] if "Fn::If" in s else [s])]
            for statement in (s for s in written if isinstance(s, dict) and "Action" in s):
                assert all(not a.endswith("*") for a in statement["Action"]), name
                assert "dynamodb:DeleteTable" not in statement["Action"]
                # Only an action that takes no resource may name "*": SES's GetAccount.
                assert statement["Resource"] != "*" or statement["Action"] == ["ses:GetAccount"], name
    ingest = resources["IngestFunction"]["Properties"]["Policies"][0]["Statement"][0]["Action"]
    assert "dynamodb:UpdateItem" not in ingest and "dynamodb:DeleteItem" not in ingest


def test_layer_requirements_match_the_package_dependencies():
    pyproject = (ROOT / "pyproject.toml").read_text()
    declared = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.S | re.M)
    assert declared is not None
    from_pyproject = sorted(re.findall(r'^\s+"([^"]+)",', declared.group(1), re.M))
    requirements = (ROOT / "layers" / "podium" / "requirements.txt").read_text().splitlines()
    assert sorted(line for line in requirements if line and not line.startswith("#")) == from_pyproject


def sam_transform() -> dict:
    """The CloudFormation that SAM makes of template.yaml, offline (local code paths stand in as S3 URIs)."""
    import copy

    from samtranslator.parser import parser
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(load_template(ROOT / "template.yaml"))
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://podium-artifacts/{props[key].strip('/')}"
    return Translator(managed_policy_map={}, sam_parser=parser.Parser()).translate(
        sam_template=template, parameter_values={"AWS::Region": "us-east-1"}
    )


def test_the_sam_transform_gives_each_route_its_function(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    resources = sam_transform()["Resources"]
    functions = {k for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
    assert {"IngestFunction", "AdminFunction"} <= functions
    api = next(v for v in resources.values() if v["Type"] == "AWS::ApiGatewayV2::Api")
    paths = api["Properties"]["Body"]["paths"]
    for route in routes_from_template(load_template(ROOT / "template.yaml")):
        method = "x-amazon-apigateway-any-method" if route.method == "ANY" else route.method.lower()
        operation = paths[route.path][method]
        uri = str(operation["x-amazon-apigateway-integration"]["uri"])
        assert route.function in uri, (route.route_key, uri)
    permitted = {
        v["Properties"]["FunctionName"]["Ref"] for v in resources.values() if v["Type"] == "AWS::Lambda::Permission"
    }
    assert permitted >= {r.function for r in routes_from_template(load_template(ROOT / "template.yaml"))}
