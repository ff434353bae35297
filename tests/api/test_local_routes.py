"""The local API Gateway serves whatever template.yaml routes, with no route list anywhere else."""

import shutil
from pathlib import Path

from conftest import ROOT
from podium_cli.local.apigw import LocalApi

HELLO = """
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

app = APIGatewayHttpResolver()


@app.get("/v1/hello/<name>")
def hello(name: str) -> dict:
    return {"hello": name}


def handler(event, context):
    return app.resolve(event, context)
"""


def test_a_route_added_to_the_template_is_served_without_other_changes(tmp_path: Path, backend: str) -> None:
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "functions", root / "functions")
    template = (ROOT / "template.yaml").read_text()
    template = template.replace(
        "\nOutputs:",
        """
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/hello/
      Handler: app.handler
      Events:
        Hello:
          Type: HttpApi
          Properties: {ApiId: !Ref PodiumApi, Method: GET, Path: "/v1/hello/{name}"}

Outputs:""",
        1,
    )
    (root / "template.yaml").write_text(template)
    (root / "functions" / "hello").mkdir()
    (root / "functions" / "hello" / "app.py").write_text(HELLO)

    reply = LocalApi(root, {"PodiumTable": backend}).request("GET", "/v1/hello/podium")
    assert reply.status == 200
    assert reply.body == b'{"hello":"podium"}'
