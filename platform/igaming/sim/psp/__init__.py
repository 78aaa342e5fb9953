"""PSP simulator: the payment service providers of the outside world, faults included."""

from igaming.sim.psp.app import create_app, serve
from igaming.sim.psp.config import KnobOverride, PspKnobs, PspSettings, PspSimConfig, load_config
from igaming.sim.psp.dispatcher import CallbackDispatcher, DeliveryRecord, ScheduledCallback
from igaming.sim.psp.ledger import PspEvent, PspTransaction, SimLedger
from igaming.sim.psp.reports import COLUMNS, SettlementReport, SettlementRow
from igaming.sim.psp.simulator import PspSimulator, TransferRequest

__all__ = [
    "COLUMNS",
    "CallbackDispatcher",
    "DeliveryRecord",
    "KnobOverride",
    "PspEvent",
    "PspKnobs",
    "PspSettings",
    "PspSimConfig",
    "PspSimulator",
    "PspTransaction",
    "ScheduledCallback",
    "SettlementReport",
    "SettlementRow",
    "SimLedger",
    "TransferRequest",
    "create_app",
    "load_config",
    "serve",
]
