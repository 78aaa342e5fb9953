"""What the shared reports (the CSV uploaded to Slack, the HTML page) show of a break."""

from __future__ import annotations

from collections.abc import Mapping

from reconcilers.report.formatting import as_text, known_currency, major


def side_currency(break_type: str, side_value: object, currency: object) -> object:
    """The currency of one side's amount."""
    # A currency mismatch carries each side's currency in its value column; each amount must
    # be scaled by its own currency's exponent (EUR 12.00 against JPY 1200).
    if break_type == "currency_mismatch" and known_currency(side_value):
        return side_value
    return currency


def shared_details(rec: Mapping[str, object]) -> object:
    """A break's details as the shared reports show them (the CSV uploaded to Slack, the
    HTML report). A balance_mismatch's ledger details name the account's owner, a player
    id: the break ledger (the operator's own database) keeps them for investigation, the
    reports rebuild them from the break's columns, where the account id (the reference)
    leads an investigator back to the player without naming them to the channel."""
    if rec["type"] != "balance_mismatch":
        return rec["details"]
    currency = as_text(rec["currency"])
    stored = major(rec["wallet_amount_minor"], currency) or as_text(rec["wallet_amount_minor"])
    entries = major(rec["other_amount_minor"], currency) or as_text(rec["other_amount_minor"])
    return (
        f"account {as_text(rec['reference'])}: stored balance {stored} {currency}, "
        f"ledger entries sum to {entries} {currency}"
    )
