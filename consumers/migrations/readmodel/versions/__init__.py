"""Revisions of the readmodel schema, oldest first."""
