"""The fault suite: hostile input, security and ACL tests against the real services."""
