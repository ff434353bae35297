"""`podium local`: Podium on one machine, wired from template.yaml, with the demo program.

One process tree: DynamoDB Local (data under .podium/, kept between runs; moto's server in memory when Java or
the jar is missing), an HTTP server that turns requests into API Gateway events for the template's handlers, a
stream poller that feeds the table's stream to the aggregate function with the template's batch settings, a
scheduler that fires the template's schedules, and an outbox: SES (moto) and channel posts kept under
.podium/outbox/ and listed at /outbox, so nothing leaves the machine. Ctrl-C stops everything.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import queue
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

TABLE = "podium-local"
DEMO_ORG = "demo"
DEMO = "healthcare-sales"
BODY_SECONDS = 60.0  # the longest a request's body may pause on its way
API_INSTANCES = 4  # handler copies, like warm Lambda containers: requests run in parallel, each alone in its copy


@dataclass
class Stack:
    root: Path
    data_dir: Path
    port: int
    endpoint: str
    api: Any
    poller: Any
    stop_event: threading.Event
    server: ThreadingHTTPServer | None = None
    outbox: Any = None
    scheduler: Any = None
    activity: Any = None  # streams.StreamActivity: the poller's rounds, to know when the stream has caught up

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def find_root(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "template.yaml").is_file():
            return folder
    raise RuntimeError("run `podium local` inside a Podium checkout (no template.yaml above this folder)")


def database_label(data_dir: Path, in_memory: bool) -> str:
    """DynamoDB Local and where it keeps its data, as the banner names it."""
    return "DynamoDB Local, " + ("in memory" if in_memory else f"data in {data_dir / 'dynamodb'}")


@contextmanager
def database(data_dir: Path, in_memory: bool) -> Iterator[tuple[str, str]]:
    """DynamoDB Local on disk (or in memory); moto's server when Java or the jar is missing. Yields (endpoint, kind)."""
    from podium_cli.local import dynamodb

    if dynamodb.find_jar() and dynamodb.java_available():
        ddb = dynamodb.start(data_dir=None if in_memory else data_dir / "dynamodb")
        try:
            yield ddb.endpoint, database_label(data_dir, in_memory)
        finally:
            ddb.stop()
        return
    from moto.server import ThreadedMotoServer

    print(
        "warning: a JDK 17+ or DynamoDB Local is missing (run `make dynamodb-local`); using moto's server in memory: "
        "data is lost when the stack stops",
        file=sys.stderr,
    )
    port = dynamodb.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", "moto's server, in memory"
    finally:
        server.stop()


LOCAL_SENDER = "Podium demo <podium@example.org>"
SIGNING_SECRET_NAME = "podium/local/link-signing-key"  # noqa: S105 - a secret's name, not a secret
CONFIGURATION_SET = "podium-local"


def mail_resources(moto_endpoint: str, data_dir: Path) -> dict[str, str]:
    """What template.yaml creates for mail, made on moto: the link-signing key and SES's configuration set.
    Returns the template's names for them (refs). moto forgets everything when it stops, so the key is kept in
    the data folder (owner-only): the unsubscribe links in emails already sent go on working after a restart."""
    import secrets

    import boto3
    from botocore.exceptions import ClientError

    key_file = data_dir / "link-signing-key"
    if not key_file.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(48))
    region = os.environ.get("AWS_REGION", "us-east-1")
    vault = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name=region)
    try:
        vault.create_secret(Name=SIGNING_SECRET_NAME, SecretString=key_file.read_text().strip())
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceExistsException":
            raise
    ses = boto3.client("sesv2", endpoint_url=moto_endpoint, region_name=region)
    try:
        ses.create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "AlreadyExistsException":
            raise
    return {"LinkSigningKey": SIGNING_SECRET_NAME, "MailConfigurationSet": CONFIGURATION_SET}


def channel_secrets(program_file: Path, channels_url: str) -> dict[str, str]:
    """A secret for each channel the program file names, as a deployment keeps them in SSM: Slack's and Teams'
    webhook URLs at the fake services, made-up X and LinkedIn tokens, a webhook signing secret."""
    import base64
    import secrets

    from podium.domain.program import ChannelKind, parse_program

    made = {
        ChannelKind.SLACK: lambda: f"{channels_url}/slack/T0DEMO/B0DEMO/{secrets.token_hex(12)}",
        ChannelKind.TEAMS: lambda: (
            f"{channels_url}/teams/workflows/{secrets.token_hex(16)}/triggers/manual/paths/invoke"
        ),
        ChannelKind.X: lambda: secrets.token_urlsafe(32),
        ChannelKind.LINKEDIN: lambda: secrets.token_urlsafe(32),
        ChannelKind.WEBHOOK: lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    channels = parse_program(program_file.read_text(), filename=str(program_file)).bulletins.channels
    return {c.secret: made[c.kind]() for c in channels}


def put_parameters(moto_endpoint: str, parameters: dict[str, str]) -> None:
    """SecureString parameters in the local SSM (moto), overwriting: each start points them at its own fakes."""
    import boto3

    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"))
    for name, value in parameters.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def configure_environment(
    endpoint: str, ses_endpoint: str, channel_outbox: str, public_url: str = "", channels_url: str = ""
) -> None:
    """The settings the functions read, pointed at the local database, moto (SES, SSM, Secrets Manager), the fake
    chat and social APIs and the channel outbox; nothing can reach AWS or anyone's channels."""
    os.environ.update(
        {
            "PODIUM_TABLE": TABLE,
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "AWS_ENDPOINT_URL_SES": ses_endpoint,
            "AWS_ENDPOINT_URL_SESV2": ses_endpoint,
            "AWS_ENDPOINT_URL_SSM": ses_endpoint,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": ses_endpoint,
            "PODIUM_CHANNEL_OUTBOX": channel_outbox,
            # What template.yaml's parameters give a deployment: digests come from the demo sender (the local
            # SES verifies it), links point at this stack, and channels may be fake servers on loopback.
            "PODIUM_MAIL_FROM": LOCAL_SENDER,
            "PODIUM_PUBLIC_URL": public_url,
            "PODIUM_SES_MAX_SEND_RATE": "500",
            "PODIUM_ALLOW_LOOPBACK_CHANNELS": "1",
            "PODIUM_X_API_URL": channels_url,
            "PODIUM_LINKEDIN_API_URL": channels_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_METRICS_NAMESPACE": "PodiumLocal",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            # Metrics would be CloudWatch EMF lines on stdout: noise on a laptop.
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    # A profile, a session or an order to ignore the endpoints above would point the functions at real AWS.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        os.environ.pop(name, None)


class ApiPool:
    """Several copies of the template's handlers, so concurrent requests run side by side as on Lambda."""

    def __init__(self, root: Path, refs: dict[str, str], size: int = API_INSTANCES) -> None:
        from podium_cli.local.apigw import LocalApi

        self.template_api = LocalApi(root, refs)
        self._free: queue.Queue[Any] = queue.Queue()
        self._free.put(self.template_api)
        for _ in range(size - 1):
            self._free.put(LocalApi(root, refs))

    def request(self, *args: Any, **kwargs: Any) -> Any:
        api = self._free.get()
        try:
            return api.request(*args, **kwargs)
        finally:
            self._free.put(api)


def _http_handler(stack: Stack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "PodiumLocal"

        def handle_one_request(self) -> None:
            # Waiting for a request to start has no limit (an idle keep-alive connection); once its first byte
            # is here, the request line and headers must arrive within BODY_SECONDS, or the connection is closed
            # (http.server logs "Request timed out"), so a client that stalls mid-headers holds no thread forever.
            self.connection.settimeout(None)
            try:
                started = cast(io.BufferedReader, self.rfile).peek(1)
            except (ConnectionError, OSError):
                self.close_connection = True
                return
            if not started:
                self.close_connection = True
                return
            self.connection.settimeout(BODY_SECONDS)
            super().handle_one_request()

        def handle_expect_100(self) -> bool:
            """`Expect: 100-continue` with a body over the limit is refused before the client sends it."""
            from podium_cli.local.bodies import MAX_BODY

            lengths = [v.strip() for v in self.headers.get_all("Content-Length") or []]
            if any(v.isdigit() and int(v) > MAX_BODY for v in lengths):
                self._refuse(413, "payload_too_large", f"the body is larger than the {MAX_BODY} bytes allowed")
                return False
            return super().handle_expect_100()

        def _serve(self) -> None:
            from podium_cli.local.bodies import BodyError, read_body

            # A client that stops sending mid-body is cut off, not waited for forever; an idle keep-alive
            # connection between requests is left alone.
            self.connection.settimeout(BODY_SECONDS)
            try:
                content_lengths = self.headers.get_all("Content-Length") or []
                body = read_body(content_lengths, self.headers.get_all("Transfer-Encoding") or [], self.rfile)
                self.connection.settimeout(None)
            except BodyError as error:
                self._refuse(error.status, error.code, str(error))
                return
            except TimeoutError:
                self._refuse(408, "request_timeout", f"the request body did not arrive within {BODY_SECONDS} s")
                return
            path, _, query = self.path.partition("?")
            request_headers = dict(self.headers.items())
            try:
                local = _refused(stack, path, request_headers) or _local_reply(
                    stack, self.command, path, request_headers, body
                )
                if local is not None:
                    status, headers, payload = local
                else:
                    reply = stack.api.request(
                        self.command,
                        path,
                        headers=request_headers,
                        query=query,
                        body=body,
                        source_ip=self.client_address[0],
                    )
                    status, headers, payload = reply.status, reply.headers, reply.body
            except Exception as error:  # the edge must answer, whatever a handler did
                status, headers = 502, {"content-type": "application/json"}
                payload = json.dumps({"error": {"code": "local_stack", "message": repr(error)}}).encode()
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def _refuse(self, status: int, code: str, message: str) -> None:
            """An error in the API's shape, then the connection is closed: what is left of the request is unread."""
            payload = json.dumps({"error": {"code": code, "message": message}}).encode()
            self.close_connection = True
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(payload)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """What http.server refuses itself (a bad request line, an unknown method, headers too long), in the
            API's error shape instead of an HTML page."""
            reason = self.responses.get(code, ("Error", ""))[0]
            self.log_error("code %d, message %s", code, message)
            self._refuse(code, re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_"), message or reason)

        def handle(self) -> None:
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):  # the client went away
                super().handle()

        def log_message(self, format: str, *args: Any) -> None:
            if os.environ.get("PODIUM_LOCAL_ACCESS_LOG"):
                super().log_message(format, *args)

    return Handler


Reply = tuple[int, dict[str, str], bytes]
# Paths that act without a key: only this machine's own tools and functions may call them, not a web page.
LOCAL_ACTIONS = ("/_local/", "/outbox/channels")


def _refused(stack: Stack, path: str, headers: dict[str, str]) -> Reply | None:
    """The stack answers only to its own name (a page that rebinds a domain to 127.0.0.1 gets nothing), and its
    key-less actions only to callers that are not a browser on another site."""
    lowered = {k.lower(): v for k, v in headers.items()}
    ours = {f"127.0.0.1:{stack.port}", f"localhost:{stack.port}"}
    host = lowered.get("host", "").lower()
    if host and host not in ours:
        return _json_reply(403, {"error": {"code": "forbidden", "message": f"this stack answers as {stack.url}"}})
    if path.startswith(LOCAL_ACTIONS):
        origin = lowered.get("origin", "").lower().removeprefix("http://")
        if (origin and origin not in ours) or lowered.get("sec-fetch-site") == "cross-site":
            message = "local actions are not for other sites' pages"
            return _json_reply(403, {"error": {"code": "forbidden", "message": message}})
    return None


def _local_reply(stack: Stack, method: str, path: str, headers: dict[str, str], body: bytes | None) -> Reply | None:
    """Paths the stack answers itself, before the template's routes: the outbox and firing a schedule now."""
    from podium_cli.local.outbox import outbox_page

    if path == "/outbox/channels" or path.startswith("/outbox/channels/"):
        stack.outbox.record_post(method, path, headers, body or b"")
        return _json_reply(200, {"ok": True})  # what Slack answers
    if method == "POST" and path.startswith("/_local/fire/"):
        return _fire(stack, path.removeprefix("/_local/fire/"))
    if method not in ("GET", "HEAD"):
        return None
    if path == "/outbox":
        page = outbox_page(stack.outbox, stack.scheduler.summary(), stack.url)
        return 200, {"content-type": "text/html; charset=utf-8"}, page.encode()
    if path == "/outbox.json":
        listing = {"folder": str(stack.outbox.folder), "entries": stack.outbox.entries()}
        return _json_reply(200, {**listing, "schedules": stack.scheduler.summary()})
    if path.startswith("/outbox/"):
        return _outbox_file(stack, path.removeprefix("/outbox/"))
    return None


def _fire(stack: Stack, function: str) -> Reply:
    from podium_cli.local.schedules import UnknownFunction

    try:
        firings = stack.scheduler.fire_now(function)
    except UnknownFunction as error:
        problem = {"code": "unknown_function", "message": str(error), "schedulable": error.schedulable}
        return _json_reply(404, {"error": problem})
    except Exception as error:  # the function raised: say so, as Lambda's Invoke reports a function error
        return _json_reply(502, {"error": {"code": "function_error", "message": repr(error)}})
    fired = [{"event": f.schedule.event, "expression": f.schedule.expression, "returned": f.returned} for f in firings]
    return _json_reply(200, {"function": function, "fired": fired})


def _outbox_file(stack: Stack, name: str) -> Reply:
    from podium_cli.local.outbox import CONTENT_TYPES, PREVIEW_POLICY

    file = stack.outbox.file(name)
    if file is None:
        return _json_reply(404, {"error": {"code": "not_found", "message": f"no file {name!r} in the outbox"}})
    headers = {"content-type": CONTENT_TYPES.get(file.suffix, "application/octet-stream")}
    headers["x-content-type-options"] = "nosniff"
    if file.suffix == ".html":
        headers["content-security-policy"] = PREVIEW_POLICY
    return 200, headers, file.read_bytes()


def _json_reply(status: int, payload: Any) -> Reply:
    return status, {"content-type": "application/json"}, json.dumps(payload, default=str).encode()


def _poll_forever(stack: Stack) -> None:
    while not stack.stop_event.is_set():
        try:
            delivered = stack.poller.poll_once()
            stack.activity.record(bool(delivered) or stack.poller.has_pending)
        except Exception as error:  # keep polling: a bad moment must not stop the cascade for good
            stack.activity.record(True)
            print(f"stream poller: {error!r}", file=sys.stderr)
            stack.stop_event.wait(1.0)
        stack.stop_event.wait(0.1)


def wait_until_caught_up(stack: Stack, since: int, started: float) -> bool:
    """Once the stream has caught up with everything written before the mark `since` (the boards stop changing),
    print one line saying so; False if the stack stopped first."""
    while not stack.stop_event.is_set():
        if stack.activity.wait_caught_up(since, timeout=1.0):
            print(f"demo ready: boards are up to date ({time.monotonic() - started:.0f} s after start)", flush=True)
            return True
    return False


def start(
    root: Path,
    data_dir: Path,
    endpoint: str,
    port: int,
    *,
    outbox: Any,
    ses_endpoint: str,
    channels_url: str = "",
    window_seconds: float | None = None,
) -> Stack:
    """Create the table, load the handlers, start the HTTP server, the stream poller and the scheduler (in
    threads). `outbox` keeps what is sent; `ses_endpoint` is the local SES (moto: SSM and Secrets Manager too) the
    functions are pointed at, `channels_url` the fake chat and social APIs."""
    import boto3

    from podium_cli.local.apigw import load_function
    from podium_cli.local.schedules import Scheduler, function_invoker, schedules_from_template
    from podium_cli.local.streams import StreamActivity, StreamPoller, StreamSettings, stream_consumers
    from podium_cli.template import create_tables

    ThreadingHTTPServer.daemon_threads = True
    # Bound before any function is loaded, so each is told where the channel outbox is; handled once built.
    server = ThreadingHTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    configure_environment(endpoint, ses_endpoint, f"{url}/outbox/channels", url, channels_url)
    ddb = boto3.client("dynamodb", endpoint_url=endpoint)
    create_tables(ddb, root / "template.yaml", {"PodiumTable": TABLE})
    refs = {"PodiumTable": TABLE, "PublicUrl": url, **mail_resources(ses_endpoint, data_dir)}
    api = ApiPool(root, refs)
    template = api.template_api.template
    scheduler = Scheduler(
        schedules_from_template(template), function_invoker(root, template, refs), region=os.environ["AWS_REGION"]
    )
    ((function, properties),) = stream_consumers(template)
    settings = StreamSettings.from_event(properties)
    if window_seconds is not None:
        settings = StreamSettings(settings.batch_size, window_seconds, settings.max_retries, settings.bisect_on_error)
    poller = StreamPoller(
        ddb,
        boto3.client("dynamodbstreams", endpoint_url=endpoint),
        TABLE,
        load_function(root, template, function, refs),
        settings,
        function_name=function,
        parked_dir=data_dir / "parked",
        checkpoint_file=data_dir / "stream-checkpoints.json",
    )
    stack = Stack(root, data_dir, server.server_address[1], endpoint, api, poller, threading.Event(), server)
    stack.outbox, stack.scheduler, stack.activity = outbox, scheduler, StreamActivity()
    server.RequestHandlerClass = _http_handler(stack)
    data_dir.mkdir(parents=True, exist_ok=True)
    # How other tools (podium admin, verify, tests) find this stack while it runs.
    (data_dir / "stack.json").write_text(
        json.dumps(
            {
                "url": stack.url,
                "dynamodb_endpoint": endpoint,
                "table": TABLE,
                "pid": os.getpid(),
                "moto_endpoint": ses_endpoint,
                "channels_url": channels_url,
            }
        )
    )
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    threading.Thread(target=_poll_forever, args=(stack,), name="stream", daemon=True).start()
    threading.Thread(target=scheduler.run, args=(stack.stop_event,), name="scheduler", daemon=True).start()
    return stack


def stop(stack: Stack) -> None:
    stack.stop_event.set()
    if stack.server is not None:
        stack.server.shutdown()
        stack.server.server_close()


# --- the demo -----------------------------------------------------------------------------------------------


def seed_demo(stack: Stack) -> str:
    """On first start: the demo org, the healthcare-sales program, its 230 reps, and a week of scores moved to
    the current week (so the demo is always inside the back-dating window). Returns the demo admin key."""
    from podium.adapters.factory import store
    from podium.services.auth import create_org

    key_file = stack.data_dir / "demo-admin-key"
    if store().get_org(DEMO_ORG) is not None and key_file.is_file():
        return key_file.read_text().strip()
    if store().get_org(DEMO_ORG) is not None:
        raise RuntimeError(f"the demo org exists but {key_file} is gone: delete {stack.data_dir} to start afresh")
    key = create_org(store(), DEMO_ORG, "Demo Health", datetime.now(UTC)).token
    stack.data_dir.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    example = stack.root / "examples" / DEMO
    auth = {"Authorization": f"Bearer {key}"}
    scores = shifted_submissions(example / "submissions.csv", datetime.now(UTC)).encode()
    for method, path, media_type, body in (
        ("PUT", f"/v1/programs/{DEMO}", "application/yaml", (example / "program.yaml").read_bytes()),
        ("PUT", f"/v1/programs/{DEMO}/roster", "text/csv", (example / "roster.csv").read_bytes()),
        ("POST", f"/v1/programs/{DEMO}/submissions", "text/csv", scores),
    ):
        _ok(stack.api.request(method, path, headers={**auth, "Content-Type": media_type}, body=body))
    reply = stack.api.request("POST", f"/v1/programs/{DEMO}/tokens/submit", headers=auth)
    _ok(reply)
    submit_file = stack.data_dir / "demo-submit-token"
    submit_file.write_text(json.loads(reply.body)["token"] + "\n")
    submit_file.chmod(0o600)
    return key


def demo_submit_token(stack: Stack) -> str:
    """The demo program's public submit token (for its score form), kept beside the admin key."""
    path = stack.data_dir / "demo-submit-token"
    return path.read_text().strip() if path.is_file() else ""


def shifted_submissions(path: Path, now: datetime) -> str:
    """The example's submissions moved by whole weeks so that its main week is this week; rows still in the
    future are left out (they have not happened yet), so the demo looks like a week in progress."""
    rows = list(csv.DictReader(path.open(newline="")))
    times = [datetime.fromisoformat(r["at"]) for r in rows]
    last = max(times)
    example_monday = (last - timedelta(days=last.weekday())).date()
    local_now = now.astimezone(last.tzinfo)
    this_monday = (local_now - timedelta(days=local_now.weekday())).date()
    shift = timedelta(weeks=(this_monday - example_monday).days // 7)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    for row, at in zip(rows, times, strict=True):
        if at + shift <= now:
            writer.writerow({**row, "at": (at + shift).isoformat()})
    return out.getvalue()


def simulate(stack: Stack, key: str, every: float = 2.0) -> None:
    """A trickle of new scores from random reps, so the boards move."""
    from podium.adapters.factory import store

    people = [p.id for p in store().list_participants(DEMO_ORG, DEMO) if p.active]
    rng = random.Random()  # noqa: S311 - demo scores, not secrets
    while not stack.stop_event.wait(every):
        rows = [
            {"participant": rng.choice(people), "values": {"calls": rng.randint(1, 12), "demos": rng.randint(0, 2)}}
            for _ in range(rng.randint(1, 4))
        ]
        stack.api.request(
            "POST",
            f"/v1/programs/{DEMO}/submissions",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            body=json.dumps(rows).encode(),
        )


def _ok(reply: Any) -> None:
    if reply.status >= 300:
        raise RuntimeError(f"seeding the demo failed: {reply.status} {reply.body[:500]!r}")


def _stop_on_signals() -> None:
    """SIGTERM (and SIGINT, even when a shell started us with it ignored) stop the stack cleanly, DynamoDB
    Local included."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


def main(
    port: int, data_dir: Path, *, in_memory: bool = False, simulate_scores: bool = False, demo: bool = True
) -> int:
    from podium_cli.local.channels import fake_channels
    from podium_cli.local.outbox import ses_server

    _stop_on_signals()
    started = time.monotonic()
    root = find_root()
    data_dir = data_dir if data_dir.is_absolute() else root / data_dir
    with (
        database(data_dir, in_memory) as (endpoint, kind),
        outbox_in(data_dir, in_memory) as outbox,
        ses_server(outbox) as ses_endpoint,
        fake_channels(outbox) as channels,
    ):
        stack = start(
            root, data_dir, endpoint, port, outbox=outbox, ses_endpoint=ses_endpoint, channels_url=channels.url
        )
        try:
            if demo:  # the demo program's channels, at this run's fake services
                put_parameters(ses_endpoint, channel_secrets(root / "examples" / DEMO / "program.yaml", channels.url))
            key = seed_demo(stack) if demo else ""
            seeded = stack.activity.mark()
            print(banner(stack, kind, key, simulating=simulate_scores), flush=True)
            if key and wait_until_caught_up(stack, seeded, started) and simulate_scores:
                threading.Thread(target=simulate, args=(stack, key), name="simulate", daemon=True).start()
            while not stack.stop_event.wait(1.0):
                pass
        except KeyboardInterrupt:
            print("\nstopping…", file=sys.stderr)
        finally:
            stop(stack)
    return 0


@contextmanager
def outbox_in(data_dir: Path, in_memory: bool) -> Iterator[Any]:
    """The outbox under the data folder, or in a temporary folder removed at the end with --in-memory."""
    from podium_cli.local.outbox import Outbox

    if not in_memory:
        yield Outbox(data_dir / "outbox")
        return
    with tempfile.TemporaryDirectory(prefix="podium-outbox-") as folder:
        yield Outbox(Path(folder))


def _schedules_lines(stack: Stack) -> str:
    rows = stack.scheduler.summary()
    if not rows:
        return "  Schedules       none in template.yaml"
    lines = []
    for i, row in enumerate(rows):
        label = "  Schedules       " if i == 0 else " " * 18
        when = f"next {row['next']}" if row["next"] else "disabled" if not row["enabled"] else "no future run"
        lines.append(f"{label}{row['function']}  {row['expression']}  {when}")
    return "\n".join(lines) + "\n  Fire one now:   podium local fire FUNCTION"


def banner(stack: Stack, kind: str, key: str, *, simulating: bool = False) -> str:
    """What `podium local` prints once it listens; `kind` says where the data is ("DynamoDB Local, data in …")."""
    u = stack.url
    outbox = f"  Outbox          {u}/outbox  (files in {stack.outbox.folder})\n{_schedules_lines(stack)}"
    if not key:
        return (
            f"\nPodium is running locally at {u}/v1, on {kind}, without the demo. Ctrl-C stops everything.\n"
            f"{outbox}\nState: {stack.data_dir / 'stack.json'}"
        )
    simulation = "  Simulating new scores every 2 s once the demo is ready.\n" if simulating else ""
    pages = f"{u}/p/{DEMO_ORG}/{DEMO}"
    submit = demo_submit_token(stack)
    form = f"{pages}/form?t={submit}" if submit else "(no submit token: delete the data folder to seed afresh)"
    return f"""
Podium is running locally on {kind}.

  Home            {u}/
  Division board  {pages}/division/mid-west
  Team board      {pages}/team/chicago
  Scorecard       {pages}/participant/rep-007
  TV page         {pages}/tv?boards=division:mid-west,program
  Widget          {pages}/widget?board=division:mid-west  (embed: {pages}/widget.js)
  Score form      {form}
  API             {u}/v1  (OpenAPI: {u}/v1/openapi.json)
  JSON board      {u}/v1/programs/{DEMO}/boards/division/mid-west
{outbox}

  Demo admin key  {key}
  Try:  curl -H "Authorization: Bearer {key}" {u}/v1/programs/{DEMO}/boards/division/mid-west
  A bulletin now (digests to the outbox, posts to the fake Slack, Teams, X and LinkedIn):
        curl -X POST -H "Authorization: Bearer {key}" -d '{{"status": "final"}}' {u}/v1/programs/{DEMO}/bulletins
{simulation}
Data lives in {stack.data_dir} (delete it to start afresh). Ctrl-C stops everything.
The boards fill in as the stream works through the demo's scores; a line below says when they are up to date.
"""
