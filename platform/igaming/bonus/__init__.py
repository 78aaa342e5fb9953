"""Deposit-match bonuses: grant, wagering, conversion to cash, forfeit."""
