"""What every partner protocol shares: HMAC signatures and the player reference partners see.

PSP callbacks, the odds feed, the casino seamless wallet, affiliate postbacks and the
simulators of those partners use these; nothing here imports a service.
"""
