"""The OpenAPI spec is the API's contract: schemathesis drives every operation from it and
every answer must be documented there (status, content type, schema), and none a 5xx.

Cases are authenticated (a registered player's bearer token, an admin operator's key) and
partner bodies are signed with the test environment's secrets, so that the generated data
reaches the business code instead of stopping at 401. Examples are bounded and derandomised:
the run is the same on every machine.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.internal.conjecture import providers
from hypothesis.internal.constants_ast import Constants
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from igaming.accounts.service import login
from igaming.admin import create_operator
from igaming.api import contract
from igaming.api.app import create_app
from igaming.casino.launch import install_gateway
from igaming.db import make_engine
from igaming.partners.request_signing import sign_request
from igaming.partners.signing import sign
from tests.conftest import make_platform
from tests.platform.casino_helpers import FakeProvider

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 12
PASSWORD = "correct horse battery"


def _contract_app(tmp_path_factory, sqlite_template) -> FastAPI:
    """The app on a database of its own, with one registered player and an admin key."""
    path = tmp_path_factory.mktemp("contract") / "contract.db"
    shutil.copy(sqlite_template, path)
    platform = make_platform(make_engine(f"sqlite:///{path}"))
    # Outside partners are fakes (PSP, KYC vendor, game provider): a 5xx here is ours.
    install_gateway(platform, FakeProvider())
    app = create_app(platform)
    with TestClient(app) as client:
        player = {
            "email": "contract@example.com",
            "password": PASSWORD,
            "country": "DE",
            "currency": "EUR",
            "date_of_birth": "1990-01-01",
        }
        assert client.post("/players", json=player).status_code == 201
    key = create_operator(platform, "contract-admin", "admin")

    def auth() -> dict[str, str]:
        # A new token for every case: a generated log-out must not leave the rest at 401.
        token = login(platform, player["email"], PASSWORD)
        return {"authorization": f"Bearer {token}", "x-api-key": key}

    app.state.contract_auth = auth
    return app


@pytest.fixture(scope="module")
def contract_app(tmp_path_factory, sqlite_template) -> Iterator[FastAPI]:
    yield _contract_app(tmp_path_factory, sqlite_template)


@pytest.fixture(scope="module")
def api_schema(contract_app: FastAPI):
    return schemathesis.openapi.from_asgi("/openapi.json", contract_app)


def _signed(case, app: FastAPI) -> dict[str, str]:
    """Headers that sign a partner body with the test secrets (None: not a partner call)."""
    settings_ = app.state.platform.settings
    now = int(app.state.platform.clock.now().timestamp())
    path = case.operation.path
    body = json.dumps(case.body).encode()
    if path == "/cashier/callbacks/{psp}":
        secret = settings_.psp_secrets.get(case.path_parameters.get("psp"), "dev-secret-paybridge")
        return {"x-psp-signature": sign(secret, now, body)}
    if path == "/sportsbook/feed":
        return {"x-feed-signature": sign(settings_.odds_feed_secret, now, body)}
    if path == "/casino/seamless/{provider}/{action}":
        provider = case.path_parameters.get("provider", "")
        secret = settings_.game_provider_secrets.get(provider, "dev-secret-spinworks")
        action = case.path_parameters.get("action", "")
        return {"x-signature": sign_request(secret, now, provider, action, body)}
    return {}


# One test per operation, named after it (schemathesis' own pytest loader does not run on
# pytest 9: it writes a private attribute of the test item).
@pytest.mark.slow
@pytest.mark.parametrize("operation", sorted(contract.PROBLEMS))
def test_every_answer_is_documented_and_none_is_a_server_error(
    operation: str, api_schema, contract_app: FastAPI
) -> None:
    method, path = operation.split(" ", 1)
    strategy = api_schema[path][method].as_strategy()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def check(case) -> None:
        _call_and_validate(case, contract_app)

    check()


def _call_and_validate(case, contract_app: FastAPI) -> None:
    response = _call(case, contract_app)
    case.validate_response(response, checks=CHECKS)


def _call(case, contract_app: FastAPI):
    """Send a case as an authenticated client (and a signing partner) would."""
    headers = dict(case.headers or {})
    declared = _declared_headers(case)
    for name, value in contract_app.state.contract_auth().items():
        if name in declared:
            headers = {k: v for k, v in headers.items() if k.lower() != name} | {name: value}
    signature = _signed(case, contract_app) if isinstance(case.body, dict | list) else {}
    case.headers = headers | signature
    if signature:
        # The body must go out byte for byte as it was signed.
        return case.call(
            data=json.dumps(case.body).encode(), headers={"content-type": "application/json"}
        )
    return case.call()


def _declared_headers(case) -> set[str]:
    return {
        p.name.lower()
        for p in case.operation.iter_parameters()
        if getattr(p, "location", None) == "header"
    }


def test_the_contract_table_names_every_route_and_no_other(contract_app: FastAPI) -> None:
    routed = contract.operations(contract_app)
    assert routed - contract.PROBLEMS.keys() == set(), "routes missing from contract.PROBLEMS"
    assert contract.PROBLEMS.keys() - routed == set(), "contract.PROBLEMS names no route"


def test_partner_operations_document_their_request_bodies(contract_app: FastAPI) -> None:
    spec = contract_app.openapi()
    for key in contract.PARTNER_BODIES:
        method, path = key.split(" ", 1)
        body = spec["paths"][path][method.lower()]["requestBody"]
        assert body["content"]["application/json"]["schema"], key


def test_errors_are_documented_as_problems(contract_app: FastAPI) -> None:
    spec = contract_app.openapi()
    deposit = spec["paths"]["/cashier/deposits"]["post"]["responses"]
    assert set(deposit) >= {"201", "401", "403", "409", "413", "422"}
    assert "application/problem+json" in deposit["422"]["content"]
    assert "application/json" not in deposit["422"]["content"]


@pytest.mark.slow
def test_stateful_sequences_follow_the_links_without_an_undocumented_answer(
    tmp_path_factory, sqlite_template, monkeypatch
) -> None:
    """Created resources flow into the operations their links name (a deposit is read back,
    a bet cashed out, a KYC check decided, a player blocked) with every answer checked."""
    # Derandomised is not enough: hypothesis also draws from the constants of every local
    # module imported so far, so the sequences generated alone differ from those generated in
    # the full run (where no link was followed). Without local constants the run is the same
    # whatever else the process has imported.
    monkeypatch.setattr(providers, "_get_local_constants", Constants)
    # A fresh platform: the per-operation run above spends the player's daily KYC checks
    # and the registration limit of the test client's address (the fake clock stands still).
    contract_app = _contract_app(tmp_path_factory, sqlite_template)
    base = schemathesis.openapi.from_asgi("/openapi.json", contract_app).as_state_machine()
    created: set[str] = set()
    followed: list[str] = []

    class Workflow(base):  # type: ignore[valid-type,misc]
        def call(self, case, **kwargs):
            if created & set(map(str, (case.path_parameters or {}).values())):
                followed.append(case.operation.label)
            response = _call(case, contract_app)
            body = response.json() if response.content else None
            if response.status_code < 300 and isinstance(body, dict) and "id" in body:
                created.add(str(body["id"]))
            return response

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=20,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # Links were followed (ours, or those schemathesis infers from the schema): an operation
    # was called with the id a response had created.
    assert followed, "no link was followed"


def test_links_name_real_operations_and_their_parameters(contract_app: FastAPI) -> None:
    spec = contract_app.openapi()
    by_id = {
        op["operationId"]: op
        for item in spec["paths"].values()
        for op in item.values()
        if "operationId" in op
    }
    seen = 0
    for (source, status), targets in contract.LINKS.items():
        method, path = source.split(" ", 1)
        links = spec["paths"][path][method.lower()]["responses"][str(status)]["links"]
        assert set(links) == {name for name, _, _ in targets}, source
        for link in links.values():
            target = by_id[link["operationId"]]
            declared = {f"{p['in']}.{p['name']}" for p in target.get("parameters", [])}
            assert set(link["parameters"]) <= declared, (source, link)
            seen += 1
    assert seen == sum(len(t) for t in contract.LINKS.values()) > 0
