"""streams/core."""
