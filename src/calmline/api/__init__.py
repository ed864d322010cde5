"""The HTTP and WebSocket shell: ``create_app(settings)``."""

from calmline.api.app import create_app

__all__ = ["create_app"]
