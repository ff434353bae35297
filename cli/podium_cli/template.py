"""Reads template.yaml, the one declaration of the tables, so tests and the local stack build the same schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt …) read as `{"Ref": …}`-style maps."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a template")
    return data


def table_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's DynamoDB tables, by logical id."""
    return {
        name: resource["Properties"]
        for name, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::DynamoDB::Table"
    }


def create_table_request(properties: dict[str, Any], table_name: str) -> dict[str, Any]:
    """CreateTable arguments for a table resource of the template, under the given physical name."""
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification"):
        if key in properties:
            request[key] = properties[key]
    if "StreamSpecification" in request:
        request["StreamSpecification"] = {"StreamEnabled": True, **request["StreamSpecification"]}
    return request


def create_tables(client: Any, template_path: Path, names: dict[str, str]) -> list[str]:
    """Create each template table named in `names` (logical id -> physical name) unless it exists; wait for it."""
    tables = table_resources(load_template(template_path))
    existing = set(client.list_tables().get("TableNames", []))
    created = []
    for logical, physical in names.items():
        if physical in existing:
            continue
        properties = tables[logical]
        client.create_table(**create_table_request(properties, physical))
        client.get_waiter("table_exists").wait(TableName=physical, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=physical, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
            )
        created.append(physical)
    return created
