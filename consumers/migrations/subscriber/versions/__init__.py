"""Revisions of the subscriber schema, oldest first."""
