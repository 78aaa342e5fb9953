"""Sportsbook: fixtures, markets and odds from the feed; bets, settlement and cash-out."""
