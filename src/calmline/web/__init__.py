"""The browser front end: server-rendered page shells plus local static assets (no CDN, no build step)."""

from calmline.web.routes import mount_static, router

__all__ = ["mount_static", "router"]
