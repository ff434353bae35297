"""API Gateway (HTTP API, payload v2) on one machine: routes read from template.yaml, requests turned into the
events Lambda would get, handlers loaded from each function's CodeUri. No route list is written by hand.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from podium_cli.template import load_template

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
DEFAULT_ROUTE = "$default"  # a route with no Path: what API Gateway sends anything else to
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/yaml", "+json")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in the template: /v1/programs/{program}
    function: str  # logical id
    code_uri: str
    handler: str  # module.function
    pattern: re.Pattern[str] = field(compare=False)

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


def routes_from_template(template: Mapping[str, Any]) -> list[Route]:
    routes = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            ep = event.get("Properties", {})
            method, path = str(ep.get("Method", "ANY")).upper(), str(ep.get("Path", DEFAULT_ROUTE))
            routes.append(Route(method, path, name, props["CodeUri"], props["Handler"], _compile(path)))
    # Literal paths win over parameters, as API Gateway prefers the most specific route; $default comes last.
    return sorted(routes, key=lambda r: (r.path == DEFAULT_ROUTE, r.path.count("{"), -len(r.path)))


def _compile(path: str) -> re.Pattern[str]:
    if path == DEFAULT_ROUTE:
        return re.compile(".*")
    regex = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("+}"):
            regex += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            regex += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(f"^{regex}$")


def load_function(root: Path, template: Mapping[str, Any], function: str, refs: Mapping[str, str]) -> Handler:
    """Import a template function's handler from its CodeUri, with the environment the template gives it."""
    props = template["Resources"][function]["Properties"]
    os.environ.update(function_environment(template, function, refs))
    module_name, _, attribute = str(props["Handler"]).rpartition(".")
    file = root / props["CodeUri"] / f"{module_name.replace('.', '/')}.py"
    spec = importlib.util.spec_from_file_location(f"podium_fn_{function}", file)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    handler: Handler = getattr(module, attribute)
    return handler


def function_environment(template: Mapping[str, Any], function: str, refs: Mapping[str, str]) -> dict[str, str]:
    """The variables the template gives a function (Globals, then its own), with !Ref resolved from `refs`, then
    from the parameters' defaults. A value built by another intrinsic (!If, !Sub) is left to the local stack's
    own settings (configure_environment), which stand in for what a deployment would give."""
    glob = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    parameters = template.get("Parameters", {})
    env = {}
    for name, value in {**glob, **own}.items():
        if isinstance(value, dict) and "Ref" in value:
            ref = value["Ref"]
            env[name] = refs[ref] if ref in refs else str(parameters.get(ref, {}).get("Default", ref))
        elif isinstance(value, dict):
            continue
        else:
            env[name] = str(value)
    return env


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class LocalApi:
    """Dispatches HTTP requests to the template's handlers, as API Gateway would."""

    def __init__(self, root: Path, refs: Mapping[str, str]) -> None:
        self.root = root
        self.template = load_template(root / "template.yaml")
        self.routes = routes_from_template(self.template)
        self.refs = dict(refs)
        self._handlers: dict[str, Handler] = {}
        # Every function's variables now, not as each is loaded: in one process the handlers share os.environ,
        # and one that reads its (cached) settings first must already see the others' (PODIUM_SIGNING_SECRET…).
        for name, resource in self.template["Resources"].items():
            if resource.get("Type") == "AWS::Serverless::Function":
                os.environ.update(function_environment(self.template, name, self.refs))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method not in (method.upper(), "ANY"):
                continue
            m = route.pattern.match(path)
            if m:
                return route, m.groupdict()
        return None

    def handler(self, route: Route) -> Handler:
        if route.function not in self._handlers:
            self._handlers[route.function] = load_function(self.root, self.template, route.function, self.refs)
        return self._handlers[route.function]

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        query: str = "",
        body: bytes | None = None,
        source_ip: str = "127.0.0.1",
    ) -> HttpResponse:
        # An HTTP API hands Lambda the path decoded, in rawPath and in pathParameters alike (a participant id
        # with `@`, a team called Zürich): so does this.
        path = unquote(path)
        found = self.match(method, path)
        if found is None:
            # The template has no $default route: API Gateway answers itself, here in the API's error shape.
            problem = {"error": {"code": "not_found", "message": f"no route {method.upper()} {path}"}}
            return HttpResponse(404, {"content-type": "application/json"}, json.dumps(problem).encode())
        route, params = found
        event = http_api_event(route, method, path, params, headers or {}, query, body, source_ip)
        result = self.handler(route)(event, LambdaContext(route.function))
        return to_response(result)


def http_api_event(
    route: Route,
    method: str,
    path: str,
    path_parameters: Mapping[str, str],
    headers: Mapping[str, str],
    query: str,
    body: bytes | None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The API Gateway HTTP API payload v2.0 event for a request."""
    lowered = {k.lower(): v for k, v in headers.items()}
    pairs = parse_qsl(query, keep_blank_values=True)
    query_params: dict[str, str] = {}
    for k, v in pairs:
        query_params[k] = f"{query_params[k]},{v}" if k in query_params else v
    content_type = lowered.get("content-type", "")
    is_text = body is not None and any(t in content_type for t in TEXT_TYPES)
    encoded: str | None = None
    if body is not None and body != b"":
        if is_text:
            try:
                encoded = body.decode("utf-8")
            except UnicodeDecodeError:
                is_text = False
        if not is_text:
            encoded = base64.b64encode(body).decode()
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": query,
        "cookies": [c.strip() for c in lowered.get("cookie", "").split(";") if c.strip()] or None,
        "headers": lowered,
        "queryStringParameters": query_params or None,
        "pathParameters": dict(path_parameters) or None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": encoded,
        "isBase64Encoded": bool(encoded is not None and not is_text),
    }
    return {k: v for k, v in event.items() if v is not None}


def to_response(result: Mapping[str, Any]) -> HttpResponse:
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name).lower()] = ", ".join(str(v) for v in values)
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    if result.get("cookies"):
        headers["set-cookie"] = "; ".join(result["cookies"])
    return HttpResponse(int(result.get("statusCode", 200)), headers, body)
