"""Affiliate tracking: clicks, attribution, conversions, commission and S2S postbacks."""
