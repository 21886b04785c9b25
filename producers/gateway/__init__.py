"""The HTTP publishing gateway: FastAPI over the publishing SDK, one API key per publisher."""

from producers.gateway.app import create_app
from producers.gateway.openapi import OPENAPI_PATH, openapi_document
from producers.gateway.server import running, serve

__all__ = ["OPENAPI_PATH", "create_app", "openapi_document", "running", "serve"]
