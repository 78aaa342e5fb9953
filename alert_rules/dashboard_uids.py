"""Stable dashboard uids and titles: alert links and the generated dashboards share them.

A uid never changes once published (bookmarks, alert links and Slack messages point at
it); add a dashboard by adding a key. The table lives with the alert rules because the
dashboards read the alert declarations (thresholds, runbooks, recording rules) while the
alerts need only these addresses: ``dashboards`` imports ``alert_rules``, never the reverse.
"""

from __future__ import annotations

DASHBOARDS: dict[str, tuple[str, str]] = {
    "overview": ("pitwatch-overview", "Business overview"),
    "payments": ("pitwatch-payments", "Payments"),
    "sportsbook": ("pitwatch-sportsbook", "Sportsbook"),
    "casino": ("pitwatch-casino", "Casino"),
    "affiliates": ("pitwatch-affiliates", "Affiliates"),
    "wallet": ("pitwatch-wallet", "Wallet and reconciliation"),
    "kyc": ("pitwatch-kyc", "KYC and compliance"),
    "platform": ("pitwatch-platform", "Platform"),
    "infrastructure": ("pitwatch-infrastructure", "Infrastructure"),
}
