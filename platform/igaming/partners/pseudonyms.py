"""The pseudonymous player reference partners see: a keyed hash, never the player id."""

from __future__ import annotations

import hashlib
import hmac

# 96 bits: no collisions in practice, too short to brute-force (docs/affiliates.md).
AFFILIATE_REF_HEX_CHARS = 24
# Game providers have always been sent 32 characters; a shorter reference would make every
# player a new player to them, so their protocol keeps its length.
GAME_PROVIDER_REF_HEX_CHARS = 32


def player_ref(key: str, player_id: str, hex_chars: int) -> str:
    """HMAC-SHA256(key, player id) in hex, its first ``hex_chars`` characters: stable per
    player, meaningless without the key."""
    digest = hmac.new(key.encode(), player_id.encode(), hashlib.sha256).hexdigest()
    return digest[:hex_chars]
