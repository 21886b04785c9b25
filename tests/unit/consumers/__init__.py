"""Unit tests of the subscriber and the hub read model."""
