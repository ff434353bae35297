"""One botocore client per table: every store, standings adapter and PynamoDB model a process builds for the table
talks through one client, so a cold start loads DynamoDB's service model and opens its connection pool once.

Clients are counted where botocore makes them (botocore.session.Session.create_client), on moto.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest


@pytest.fixture
def dynamodb_clients(backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every DynamoDB client made from here on (the table is made first, by its own client)."""
    create_client = botocore.session.Session.create_client
    made: list[Any] = []
    lock = threading.Lock()

    def counting(self: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            with lock:
                made.append(client)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    yield made


def touch_every_model(store: Any, standings: Any) -> None:
    """One call through each bound model (and the index) that reaches the table."""
    store.get_org("acme")
    store.get_key("acme", "k1")
    store.get_program("acme", "q4")
    store.all_programs()
    store.list_participants("acme", "q4")
    store.get_submission("acme", "q4", "rep-1", "s1")
    list(store.query_partition("nothing"))
    store.versions.count("nothing")
    store.memberships.count("nothing")
    standings.get_participant_standing("acme", "q4", "t1", "2026-W01", "rep-1")


def connection_clients(store: Any, standings: Any) -> set[int]:
    models = [store.orgs, store.keys, store.programs, store.versions, store.people, store.submissions]
    models += [store.memberships, standings.items]
    return {id(m._get_connection().connection.client) for m in models}


def test_every_store_standings_and_model_the_functions_build_share_one_client(dynamodb_clients, monkeypatch):
    from podium.adapters import factory
    from podium.adapters.standings import DynamoStandings

    # GIVEN what the handlers build: the factory's store and standings, asked for again and again
    store, standings = factory.store(), factory.standings()
    assert factory.store() is store and standings.store is store
    also = DynamoStandings(store)

    # WHEN every model reaches the table
    touch_every_model(store, standings)
    touch_every_model(factory.store(), also)

    # THEN botocore made one client, and every model's connection holds it
    assert len(dynamodb_clients) == 1
    assert connection_clients(store, standings) == connection_clients(store, also) == {id(dynamodb_clients[0])}
    assert store.client is dynamodb_clients[0]


@pytest.mark.xfail(
    strict=True,
    reason="the client is one per DynamoStore, not per table: a second DynamoStore for the same table makes its own",
)
def test_two_stores_for_the_same_table_share_one_client(dynamodb_clients, backend):
    from podium.adapters.dynamodb import DynamoStore
    from podium.adapters.standings import DynamoStandings

    first, second = DynamoStore(backend), DynamoStore(backend)
    touch_every_model(first, DynamoStandings(first))
    touch_every_model(second, DynamoStandings(second))

    assert len(dynamodb_clients) == 1


def test_a_store_whose_first_call_is_a_batch_of_puts_makes_one_client(dynamodb_clients, backend, monkeypatch):
    from podium.adapters.dynamodb import DynamoStore
    from podium.domain.submissions import Submission
    from podium.services.ports import StoredSubmission

    # Making a client takes a while on a cold start (DynamoDB's service model is read from disk): so it does here,
    # so that every writer thread has started before the first client exists, as on a slow cold start.
    create_client = botocore.session.Session.create_client

    def slow(self: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.2)
        return create_client(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", slow)
    now = datetime.now(UTC)
    batch = [
        StoredSubmission(Submission(f"s{i}", f"rep-{i}", now, {"calls": 1.0}), "api", now, "k1") for i in range(32)
    ]

    DynamoStore(backend).put_submissions("acme", "q4", batch)

    assert len(dynamodb_clients) == 1
