"""The API's published contract: every status an operation can answer, and the bodies of
the partner operations that read their request as raw bytes (to check a signature first).

FastAPI documents what it can see: the success status and its own 422. The platform also
answers 400, 401, 403, 404, 409, 413, 429 and 503 as RFC 7807 problem+json, and the PSP,
odds-feed and seamless-wallet operations parse their bodies by hand. Without this table a
client generator (or a fuzzer) meets statuses the spec never mentioned. The table is the one
place to say them; tests/platform/test_api_contract.py fails when a route is missing from
it, and its schemathesis run fails when an operation answers a status not listed here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from igaming.cashier.callbacks import CallbackBody
from igaming.casino import seamless
from igaming.sportsbook.protocol import FeedMessageIn

PROBLEM_JSON = "application/problem+json"
REF = "#/components/schemas/{model}"

# Building blocks of the table: what a bearer-token route, an operator route and a route
# with a JSON body (400: not parseable at all) can answer whatever its business.
PLAYER = (401,)
OPERATOR = (401, 403)
BODY = (400, 413, 422)

# Error statuses answered as problem+json, per operation ("METHOD /path" as routed).
PROBLEMS: dict[str, tuple[int, ...]] = {
    "GET /healthz": (),
    "GET /readyz": (),
    "POST /players": (*BODY, 409, 429),
    "POST /sessions": (*BODY, 401, 403, 429),
    "POST /players/logout": (*PLAYER,),
    "GET /players/me": (*PLAYER, 404, 422),
    "POST /players/me/self-exclusion": (*PLAYER, *BODY, 404),
    "PUT /players/me/deposit-limit": (*PLAYER, *BODY, 404),
    "POST /kyc/verifications": (*PLAYER, 403, 404, 409, 422, 429, 503),
    "GET /kyc/verifications/latest": (*PLAYER, 404, 422),
    "GET /wallet/balance": (*PLAYER, 404, 422),
    "GET /wallet/transactions": (*PLAYER, 422),
    "POST /cashier/deposits": (*PLAYER, *BODY, 403, 404, 409, 503),
    "GET /cashier/deposits/{deposit_id}": (*PLAYER, 404, 422),
    "POST /cashier/withdrawals": (*PLAYER, *BODY, 403, 404, 409, 503),
    "GET /cashier/withdrawals/{withdrawal_id}": (*PLAYER, 404, 422),
    "POST /cashier/callbacks/{psp}": (401, 404, 413, 422),
    "GET /sportsbook/fixtures": (422,),
    "GET /sportsbook/markets/{market_id}": (404, 422),
    "POST /sportsbook/bets": (*PLAYER, *BODY, 403, 404, 409),
    "GET /sportsbook/bets": (*PLAYER, 422),
    "GET /sportsbook/bets/{bet_id}": (*PLAYER, 404, 422),
    "GET /sportsbook/bets/{bet_id}/cashout": (*PLAYER, 404, 409, 422),
    "POST /sportsbook/bets/{bet_id}/cashout": (*PLAYER, *BODY, 404, 409),
    "POST /sportsbook/feed": (413,),
    "GET /casino/games": (422,),
    "POST /casino/launch": (*PLAYER, *BODY, 403, 404, 409, 503),
    "POST /casino/seamless/{provider}/{action}": (413, 422),
    "GET /bonus/offers": (),
    "POST /bonus/claims": (*PLAYER, *BODY, 403, 404, 409),
    "GET /bonus/me": (*PLAYER, 422),
    "GET /track/click": (404, 422, 429),
    "POST /affiliates/clicks": (*BODY, 404, 429),
    "PUT /affiliates/{affiliate}": (*OPERATOR, *BODY),
    "POST /affiliates/{affiliate}/deals": (*OPERATOR, *BODY, 404),
    "GET /affiliates/{affiliate}/commission": (*OPERATOR, 404, 422),
    "GET /affiliates/{affiliate}/postbacks": (*OPERATOR, 404, 422),
    "POST /admin/adjustments": (*OPERATOR, *BODY, 404, 409),
    "POST /admin/kyc/{check_id}/decision": (*OPERATOR, *BODY, 404, 409),
    "PUT /admin/players/{player_id}/status": (*OPERATOR, *BODY, 404),
    "POST /admin/players/{player_id}/kyc/allow-retry": (*OPERATOR, *BODY, 404, 409),
    "GET /admin/audit-log": (*OPERATOR, 422),
    "GET /admin/invariants": (*OPERATOR, 422),
    "GET /admin/faults": (*OPERATOR, 422),
    "PUT /admin/faults": (*OPERATOR, *BODY),
}

# Operations whose errors are answered in a partner's own vocabulary (application/json),
# not problem+json: the status, a description and the answer's schema.
_FEED_ANSWER = {
    "type": "object",
    "required": ["outcome"],
    "properties": {
        "outcome": {"type": "string"},
        "message_id": {"type": ["string", "null"]},
        "detail": {"type": ["string", "null"]},
    },
}
_SEAMLESS_ERROR = {
    "type": "object",
    "required": ["status", "code", "message"],
    "properties": {
        "status": {"const": "ERROR"},
        "code": {"type": "string", "enum": sorted(seamless.HTTP_STATUS)},
        "message": {"type": "string"},
    },
}
_SEAMLESS_OK = {
    "type": "object",
    "required": ["status", "balance", "currency"],
    "properties": {
        "status": {"const": "OK"},
        "balance": {"type": "integer"},
        "currency": {"type": "string"},
        "transaction_id": {"type": "string"},
    },
}
PARTNER_ANSWERS: dict[str, dict[int, tuple[str, dict[str, Any]]]] = {
    "POST /sportsbook/feed": {
        200: ("Applied, or recorded and ignored (a duplicate, a stale sequence)", _FEED_ANSWER),
        401: ("Bad or missing signature", _FEED_ANSWER),
        409: ("Out of order, or contradicts what is known", _FEED_ANSWER),
        422: ("Not a feed message", _FEED_ANSWER),
    },
    "POST /casino/seamless/{provider}/{action}": {
        200: ("The player's balance after the action", _SEAMLESS_OK),
        **{
            status: (
                ", ".join(sorted(c for c, s in seamless.HTTP_STATUS.items() if s == status)),
                _SEAMLESS_ERROR,
            )
            for status in sorted(set(seamless.HTTP_STATUS.values()))
        },
    },
}

# Request bodies of the operations that read raw bytes (signed by the partner).
_SEAMLESS_BODY = TypeAdapter(
    seamless.BalanceIn | seamless.BetIn | seamless.WinIn | seamless.RollbackIn
)
PARTNER_BODIES: dict[str, TypeAdapter[Any]] = {
    "POST /cashier/callbacks/{psp}": TypeAdapter(CallbackBody),
    "POST /sportsbook/feed": TypeAdapter(FeedMessageIn),
    "POST /casino/seamless/{provider}/{action}": _SEAMLESS_BODY,
}

# OpenAPI links: what a client (and the stateful fuzzer) can do next with a created
# resource's id. (source operation, its success status) -> [(link name, target, parameters)].
LINKS: dict[tuple[str, int], list[tuple[str, str, dict[str, str]]]] = {
    ("POST /players", 201): [
        (
            "SetStatus",
            "PUT /admin/players/{player_id}/status",
            {"path.player_id": "$response.body#/id"},
        ),
    ],
    ("POST /cashier/deposits", 201): [
        (
            "GetDeposit",
            "GET /cashier/deposits/{deposit_id}",
            {"path.deposit_id": "$response.body#/id"},
        ),
    ],
    ("POST /cashier/withdrawals", 201): [
        (
            "GetWithdrawal",
            "GET /cashier/withdrawals/{withdrawal_id}",
            {"path.withdrawal_id": "$response.body#/id"},
        ),
    ],
    ("POST /sportsbook/bets", 201): [
        ("GetBet", "GET /sportsbook/bets/{bet_id}", {"path.bet_id": "$response.body#/id"}),
        (
            "QuoteCashout",
            "GET /sportsbook/bets/{bet_id}/cashout",
            {"path.bet_id": "$response.body#/id"},
        ),
        (
            "CashOut",
            "POST /sportsbook/bets/{bet_id}/cashout",
            {"path.bet_id": "$response.body#/id"},
        ),
    ],
    ("POST /kyc/verifications", 202): [
        (
            "DecideKyc",
            "POST /admin/kyc/{check_id}/decision",
            {"path.check_id": "$response.body#/id"},
        ),
    ],
}


def _operation_id(spec: dict[str, Any], key: str) -> str:
    method, path = key.split(" ", 1)
    return spec["paths"][path][method.lower()]["operationId"]


_PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 7807 problem details; some problems add fields (reason, errors, ...).",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}
_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed (role, account status, a responsible-gambling control or KYC)",
    404: "Not found",
    409: "Conflict (idempotency key reused with another body, state does not allow it)",
    413: "Request body too large",
    422: "Request is not valid",
    429: "Too many requests (Retry-After says when to try again)",
    503: "A provider is unavailable",
}


def operations(app: FastAPI) -> set[str]:
    """Every documented operation as "METHOD /path", the table's keys."""
    return {
        f"{method.upper()} {path}"
        for path, item in app.openapi()["paths"].items()
        for method in item
    }


def _schema_of(adapter: TypeAdapter[Any], components: dict[str, Any]) -> dict[str, Any]:
    schema = adapter.json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    return schema


def document(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the table's statuses and partner bodies to a spec FastAPI generated."""
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = _PROBLEM_SCHEMA
    problem_ref = {"$ref": REF.format(model="Problem")}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            key = f"{method.upper()} {path}"
            responses = op.setdefault("responses", {})
            # FastAPI's own 422 says application/json with its error model; ours is a problem.
            responses.pop("422", None)
            for status in PROBLEMS.get(key, ()):
                responses[str(status)] = {
                    "description": _DESCRIPTIONS[status],
                    "content": {PROBLEM_JSON: {"schema": problem_ref}},
                }
            for status, (text, schema) in PARTNER_ANSWERS.get(key, {}).items():
                responses[str(status)] = {
                    "description": text,
                    "content": {"application/json": {"schema": schema}},
                }
            if key in PARTNER_BODIES:
                op["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _schema_of(PARTNER_BODIES[key], components)}
                    },
                }
    for (source, status), targets in LINKS.items():
        method, path = source.split(" ", 1)
        response = spec["paths"][path][method.lower()]["responses"][str(status)]
        response["links"] = {
            name: {"operationId": _operation_id(spec, target), "parameters": parameters}
            for name, target, parameters in targets
        }
    return spec


def install(app: FastAPI) -> None:
    """Serve the documented spec as the app's /openapi.json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
