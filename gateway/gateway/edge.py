"""What every answer of the gateway gets: a request id, the per-client rate limit, and the
security headers (the identity routes' answers are never stored).

A plain ASGI middleware: Starlette's `@app.middleware("http")` runs the rest of the app in a
task of its own and streams the answer through a memory channel, which on the gateway's hot
path cost more than the rate limit and the headers themselves.
"""

from __future__ import annotations

import logging

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import guard
from mpp_shared.db import is_unreachable
from mpp_shared.problems import Problem, unavailable

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The identity routes answer tokens (OAuth requires `no-store`) and personal data, some to callers
# who sent no credentials yet (registration, sign-in); every other answer to a caller with
# credentials gets `no-store` from mpp_shared.web. Routes that may be cached say so themselves.
IDENTITY_PREFIX = "/api/v1/auth/"


class Edge:
    """Request id, the per-client rate limit and security headers on every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request_id = guard.request_id(request)
        request.state.request_id = request_id
        api = scope["path"].startswith("/api/")
        identity = api and scope["path"].startswith(IDENTITY_PREFIX)
        secure = scope.get("scheme") == "https"

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if api:
                    headers.setdefault("Content-Security-Policy", API_CSP)
                if identity:
                    headers.setdefault("Cache-Control", "no-store")
                if secure:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        gate: guard.Guard | None = getattr(scope["app"].state, "guard", None)
        if api and gate is not None:
            try:
                await gate.limit_client(request)
            except Problem as problem:
                await problem.response(request)(scope, receive, send_with_headers)
                return
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Answered here rather than by the server's last resort, so even a 500 carries the
            # request id to quote and the security headers.
            if started:
                raise
            if is_unreachable(exc):  # the gateway's own database is away: come back shortly
                log.warning("unreachable on %s %s: %r", scope.get("method"), scope["path"], exc)
                await unavailable().response(request)(scope, receive, send_with_headers)
                return
            log.exception("unhandled error on %s %s", scope.get("method"), scope["path"])
            await Problem(500, "internal").response(request)(scope, receive, send_with_headers)
