"""Casino: game catalogue, game launch and the seamless wallet the game providers call."""
