"""The outside world in one process, on the simulated clock, for accelerated runs.

The simulators are the same ones that run as servers (PSPs, KYC vendor, game providers,
odds feed, affiliate network), speaking the same protocol: the platform calls them through
their FastAPI apps (httpx over ASGI, inline on the run's event loop), and they call the
platform with signed request bytes through ``PlatformTransport``, which hands the bytes and
headers to the very functions the platform's routes call (callbacks, seamless wallet, odds
feed) without an ASGI round trip: those three are the hot path of a simulated day.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from igaming.bootstrap import Platform
from igaming.cashier.callbacks import handle_callback
from igaming.casino import seamless
from igaming.errors import DomainError
from igaming.partners.signing import SIGNATURE_HEADER
from igaming.sim.affiliate_network.app import create_app as create_network_app
from igaming.sim.affiliate_network.config import AffiliateNetworkConfig, NetworkKnobs
from igaming.sim.games.app import create_app as create_games_app
from igaming.sim.games.config import GamesSimConfig
from igaming.sim.kyc.app import KycSimConfig
from igaming.sim.kyc.app import create_app as create_kyc_app
from igaming.sim.odds.config import OddsSimConfig
from igaming.sim.odds.dispatcher import FeedDispatcher
from igaming.sim.odds.simulator import OddsFeedSimulator
from igaming.sim.psp import PspSimConfig
from igaming.sim.psp import create_app as create_psp_app
from igaming.sportsbook import feed
from igaming.sportsbook.protocol import FEED_SIGNATURE_HEADER


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


def answer(p: Platform, path: str, body: bytes, headers: Any) -> tuple[int, Any]:
    """The platform's answer (status, JSON body) to a partner's request, with the routes'
    semantics; ``headers`` is anything with a case-insensitive ``get`` of the signature."""
    parts = path.strip("/").split("/")
    try:
        if parts[:2] == ["cashier", "callbacks"] and len(parts) == 3:
            signature = headers.get(SIGNATURE_HEADER)
            result = handle_callback(p, parts[2], body, signature)
            return 200, {"outcome": result.outcome, "status": result.status}
        if parts[:2] == ["casino", "seamless"] and len(parts) == 4:
            signature = headers.get(seamless.SIGNATURE_HEADER)
            reply = seamless.handle(p, parts[2], parts[3], body, signature)
            return reply.status_code, reply.body
        if parts == ["sportsbook", "feed"]:
            signature = headers.get(FEED_SIGNATURE_HEADER)
            try:
                r = feed.handle_feed_message(p, body, signature)
            except feed.FeedRefused as exc:
                return exc.status, {"outcome": exc.outcome, "detail": exc.detail}
            return 200, {"outcome": r.outcome, "message_id": r.message_id, "detail": r.detail}
    except DomainError as exc:
        return exc.status, {"type": exc.type, "title": exc.title, "detail": exc.detail}
    return 404, {"title": "Not found", "detail": path}


class PlatformTransport(httpx.AsyncBaseTransport):
    """The platform's partner endpoints, answered in-process with the routes' semantics."""

    def __init__(self, p: Platform) -> None:
        self.p = p

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        return _json(*answer(self.p, request.url.path, body, request.headers))


class _Headers(dict[str, str]):
    """A request's headers, looked up case-insensitively (as httpx.Headers)."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__((k.lower(), v) for k, v in headers.items())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass(frozen=True)
class _Response:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class WalletClient:
    """What the game providers post to the seamless wallet (a casino round is two such
    requests, the hot path of a simulated day): the same signed bytes and signature, handed
    to the same handler as ``PlatformTransport``, the answer through JSON as on the wire,
    without building an httpx request and response for each (they cost a sixth of a
    request). In-process only: nothing here times out or fails to connect."""

    def __init__(self, p: Platform) -> None:
        self.p = p

    async def post(
        self, url: str, *, content: bytes, headers: dict[str, str], timeout: float | None = None
    ) -> _Response:
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url
        status, body = answer(self.p, path.split("?", 1)[0], content, _Headers(headers))
        return _Response(status, json.dumps(body).encode())


class InlineAsgiTransport(httpx.BaseTransport):
    """A synchronous httpx transport running an ASGI app on the caller's event loop, in the
    caller's thread: the platform's calls out (payments, KYC checks, game launches,
    postbacks) reach the simulators' real HTTP apps without a thread hop per request
    (Starlette's TestClient costs about 2 ms a call in thread hand-offs)."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        inner = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = self._loop.run_until_complete(self._asgi.handle_async_request(inner))
        content = self._loop.run_until_complete(response.aread())
        return httpx.Response(response.status_code, headers=response.headers, content=content)


@dataclass
class WorldConfigs:
    psp: PspSimConfig
    kyc: KycSimConfig
    games: GamesSimConfig
    odds: OddsSimConfig
    network: AffiliateNetworkConfig


@dataclass
class World:
    """The running simulators and the clients the platform uses to reach them."""

    p: Platform
    psp_app: Any
    kyc_app: Any
    games_app: Any
    network_app: Any
    odds: OddsFeedSimulator
    postback_client: httpx.Client
    kyc_client: httpx.Client
    stack: contextlib.ExitStack
    base_network_knobs: NetworkKnobs = field(default_factory=NetworkKnobs)

    @property
    def psp(self) -> Any:
        return self.psp_app.state.simulator

    @property
    def games(self) -> Any:
        return self.games_app.state.simulator

    @property
    def network(self) -> Any:
        return self.network_app.state.network

    async def deliver(self) -> int:
        """Everything the outside world has due now: PSP callbacks, feed messages, results."""
        n = len(await self.psp_app.state.dispatcher.deliver_due())
        n += len(await self.odds.pump())
        n += len(await self.games.step())
        return n

    def close(self) -> None:
        self.stack.close()


def default_configs(seed: int, fixture_interval: timedelta) -> WorldConfigs:
    # Fixtures open one per ``fixture_interval`` and take bets for two hours before kick-off;
    # pre-match odds move every 10 minutes (in-play staleness is what the alerts watch, and
    # every feed message is a database transaction the simulated day pays for).
    odds = OddsSimConfig(
        seed=seed,
        lag_seconds=1.0,
        lag_jitter_seconds=0.5,
        open_fixtures=16,
        stagger_seconds=fixture_interval.total_seconds(),
        pre_match_seconds=7200.0,
        match_seconds=6300.0,
        odds_change_interval_seconds=600.0,
    )
    # Latency knobs sleep in wall-clock time, which means nothing on a simulated clock.
    psp = PspSimConfig(seed=seed, report_dir="var/psp-settlement")
    for settings in psp.psps.values():
        settings.latency_ms = 0
    return WorldConfigs(
        psp=psp,
        kyc=KycSimConfig(seed=seed, latency_ms=0),
        games=GamesSimConfig(seed=seed),
        odds=odds,
        network=AffiliateNetworkConfig(seed=seed),
    )


def build_world(p: Platform, configs: WorldConfigs, loop: asyncio.AbstractEventLoop) -> World:
    """Start the simulators in-process and point the platform's gateways at them; ``loop``
    is the event loop the run drives them on (never running when the platform calls out)."""
    from igaming.cashier.gateway import HttpPspGateway
    from igaming.casino.gateway import HttpGameProviderGateway
    from igaming.casino.launch import install_gateway
    from igaming.kyc.vendor import HttpKycVendor

    stack = contextlib.ExitStack()
    inbound = httpx.AsyncClient(transport=PlatformTransport(p), base_url="http://platform")
    psp_app = create_psp_app(configs.psp, p.clock, inbound, run_dispatcher=False)
    games_app = create_games_app(configs.games, p.clock, WalletClient(p), run_loop=False)  # type: ignore[arg-type]
    kyc_app = create_kyc_app(configs.kyc)
    network_app = create_network_app(configs.network, p.clock)

    def client(app: Any, base: str) -> httpx.Client:
        return stack.enter_context(
            httpx.Client(transport=InlineAsgiTransport(app, loop), base_url=base)
        )

    psp_client = client(psp_app, "http://psp")
    kyc_client = client(kyc_app, "http://kyc")
    games_client = client(games_app, "http://games")
    postbacks = client(network_app, "http://affiliates")
    p.psp = HttpPspGateway("", p.settings.psp_timeout_seconds, client=psp_client)
    p.kyc = HttpKycVendor("", p.settings.kyc_timeout_seconds, client=kyc_client)
    install_gateway(p, HttpGameProviderGateway(client=games_client))
    rng = random.Random(configs.odds.seed)
    dispatcher = FeedDispatcher(p.clock, configs.odds, rng, inbound)
    odds = OddsFeedSimulator(configs.odds, p.clock, dispatcher)
    world = World(p, psp_app, kyc_app, games_app, network_app, odds, postbacks, kyc_client, stack)
    world.base_network_knobs = configs.network.knobs
    stack.callback(lambda: loop.run_until_complete(inbound.aclose()))
    return world


def kyc_patch(world: World, **changes: Any) -> None:
    """Change the KYC vendor's knobs through its admin API."""
    world.kyc_client.patch("/admin/config", json=changes).raise_for_status()


def network_patch(world: World, affiliate: str | None, knobs: dict[str, Any] | None) -> None:
    """Network-wide knobs (affiliate None) or one affiliate's (None knobs: back to normal)."""
    cfg: AffiliateNetworkConfig = world.network.config
    if affiliate is None:
        merged = (world.base_network_knobs.model_dump() | (knobs or {})) if knobs else None
        new = NetworkKnobs.model_validate(merged) if merged else world.base_network_knobs
        world.network.config = cfg.model_copy(update={"knobs": new})
        return
    current = cfg.affiliate(affiliate)
    new_knobs = NetworkKnobs.model_validate(cfg.knobs.model_dump() | knobs) if knobs else None
    affiliates = {**cfg.affiliates, affiliate: current.model_copy(update={"knobs": new_knobs})}
    world.network.config = cfg.model_copy(update={"affiliates": affiliates})
