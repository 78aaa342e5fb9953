"""pitwatch."""
