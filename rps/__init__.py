"""Resident Profile Sync: shared plumbing for every process (settings, topics, logging, CLI)."""
