"""igaming."""
