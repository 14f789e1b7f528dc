"""What the gateway checks before it forwards a call: rate limits, who is calling, coarse roles;
and an audit line for each read of personal data it serves itself (the services audit theirs).

Fine-grained rules (an officer sees only their agency's applications) stay in the services, which
verify the same token again. Rate limits and the session cache are per gateway replica.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from gateway.identity import audit, partners, sessions
from gateway.identity.accounts import Identity, now
from gateway.identity.store import AuditRecord
from gateway.tokens import Claims
from mpp_shared.auth import Principal
from mpp_shared.ended_sessions import EndedSessions
from mpp_shared.ids import new_id
from mpp_shared.problems import Problem
from mpp_shared.read_audit import REQUEST_ID

log = logging.getLogger(__name__)

STAFF = frozenset({"officer", "agency_admin", "mpp_admin", "ops_viewer"})
READS = frozenset({"GET", "HEAD"})
# What a partner's scope lets it call, by first path segment: (scope, read only).
PARTNER_ROUTES = {
    "partners": ("subscriptions:write", False),
    "applications": ("applications:read", True),
    "track": ("applications:read", True),
    "catalog": ("catalog:read", True),
}
# Public sign-in steps that guessers hit: limited per address more tightly; of which those that
# send an SMS, more tightly still.
AUTH_STEPS = re.compile(r"^/api/v1/auth/(token|register|otp|verify-phone|password/reset)$")
CODE_STEPS = frozenset({"register", "otp"})
SESSION_CACHE_SECONDS = 15.0
PARTNER_TOKEN_SECONDS = 60


def request_id(request: Request) -> str:
    """The caller's X-Request-Id if well formed, else a new one."""
    given = request.headers.get("x-request-id", "")
    return given if REQUEST_ID.match(given) else str(uuid.uuid4())


def client_address(request: Request) -> str:
    """The caller's address (behind trusted proxies, as their X-Forwarded-For names it: the
    app's ProxyHeadersMiddleware has set it)."""
    return request.client.host if request.client else "unknown"


class Guard:
    """Rate limits, authentication and coarse authorisation of calls through the gateway."""

    def __init__(self, identity: Identity) -> None:
        settings = identity.settings
        self.identity = identity
        # A sliding window counter: two counters per key. The moving window keeps every hit's
        # time and hands its clean-up to a thread on each call, which cost the gateway 5% of
        # its CPU.
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.per_client = parse(settings.rate_limit_per_client)
        self.per_account = parse(settings.rate_limit_per_account)
        self.auth_per_client = parse(settings.rate_limit_auth_per_client)
        self.codes_per_client = parse(settings.rate_limit_codes_per_client)
        self.failed_sign_ins_per_client = parse(settings.rate_limit_failed_sign_ins_per_client)
        self._sessions: dict[str, tuple[bool, float]] = {}
        self.ended_sessions: EndedSessions | None = None  # the runtime's, as every service's
        self.audit = audit.AuditLog(identity)
        self._partners: dict[str, tuple[Claims | None, float]] = {}

    # --- rate limits ---------------------------------------------------------------------------

    async def limit_client(self, request: Request) -> None:
        """A 429 when this address calls too often. Calls with credentials are limited per
        account once the credentials check out (and per address when they do not), so the
        many people behind one address (a mall's Wi-Fi, a carrier's NAT) do not share a limit;
        the public sign-in steps have limits of their own per address."""
        client = client_address(request)
        headers = request.headers
        if "authorization" not in headers and "x-api-key" not in headers:
            await self._hit(self.per_client, "client", client)
        if request.method == "POST":
            step = AUTH_STEPS.match(request.url.path)
            if step:
                await self._hit(self.auth_per_client, "auth", client)
                if step[1] in CODE_STEPS:
                    await self._hit(self.codes_per_client, "codes", client)

    async def check_sign_in_failures(self, request: Request) -> None:
        """A 429 when this address has failed to sign in too often lately, over any accounts."""
        client = client_address(request)
        item = self.failed_sign_ins_per_client
        if not await self.limiter.test(item, "failed", client):
            raise await self._limited(item, "failed", client)

    async def count_sign_in_failure(self, request: Request) -> None:
        """One more failed sign-in from this address."""
        await self.limiter.hit(self.failed_sign_ins_per_client, "failed", client_address(request))

    async def _hit(self, item: RateLimitItem, kind: str, key: str) -> None:
        if not await self.limiter.hit(item, kind, key):
            raise await self._limited(item, kind, key)

    async def _limited(self, item: RateLimitItem, kind: str, key: str) -> Problem:
        stats = await self.limiter.get_window_stats(item, kind, key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return Problem(
            429,
            "rate-limited",
            detail={
                "id": f"Terlalu banyak permintaan. Silakan coba lagi dalam {wait} detik.",
                "en": f"Too many requests. Please try again in {wait} seconds.",
            },
            headers={
                "Retry-After": str(wait),
                "RateLimit-Limit": str(item.amount),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(wait),
            },
        )

    # --- who is calling ------------------------------------------------------------------------

    async def authenticate(self, request: Request) -> tuple[Principal | None, str | None]:
        """The caller, and the bearer token to send upstream (a partner's key becomes one)."""
        try:
            caller, token = await self._credentials(request)
        except Problem as problem:
            if problem.status == 401:  # unchecked credentials count against the address
                await self._hit(self.per_client, "client", client_address(request))
            raise
        if caller is not None:
            await self._hit(self.per_account, "account", caller.subject)
        return caller, token

    async def _credentials(self, request: Request) -> tuple[Principal | None, str | None]:
        api_key = request.headers.get("x-api-key")
        if api_key:
            claims = await self._partner(api_key)
            if claims is None:
                raise _unauthorized("invalid-api-key")
            token, _ = self.identity.issuer.issue(claims, ttl=PARTNER_TOKEN_SECONDS)
            return self.identity.issuer.verify(token), token
        header = request.headers.get("authorization")
        if not header:
            return None, None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("invalid-token")
        caller = self.identity.issuer.verify(token)
        if caller.session and not await self.session_valid(caller.session):
            raise _unauthorized("session-ended")
        return caller, token

    async def session_valid(self, session_id: str) -> bool:
        """Whether a session is live; remembered for a few seconds, unless another gateway
        replica announced its end meanwhile."""
        if self.ended_sessions is not None and session_id in self.ended_sessions:
            return False
        now = time.monotonic()
        cached = self._sessions.get(session_id)
        if cached and cached[1] > now:
            return cached[0]
        valid = await sessions.session_valid(self.identity, session_id=session_id)
        if len(self._sessions) > 100_000:
            self._sessions.clear()
        self._sessions[session_id] = (valid, now + SESSION_CACHE_SECONDS)
        return valid

    def forget_sessions(self, *session_ids: str) -> None:
        """Stop trusting cached answers for sessions just ended here."""
        for session_id in session_ids:
            self._sessions.pop(session_id, None)

    def forget_all_sessions(self) -> None:
        """After a password change or a switched-off account: check every session again."""
        self._sessions.clear()

    def forget_partners(self) -> None:
        """After a key is revoked: check every key again."""
        self._partners.clear()

    async def _partner(self, api_key: str) -> Claims | None:
        now = time.monotonic()
        cached = self._partners.get(api_key)
        if cached and cached[1] > now:
            return cached[0]
        claims = await partners.partner_claims(self.identity, api_key=api_key)
        if len(self._partners) > 10_000:
            self._partners.clear()
        self._partners[api_key] = (claims, now + SESSION_CACHE_SECONDS)
        return claims

    # --- coarse roles --------------------------------------------------------------------------

    def authorize(self, request: Request, caller: Principal | None, segment: str) -> None:
        """Refuse what a role may never do anywhere; services decide the rest."""
        if caller is None:
            return
        method = request.method
        if caller.role == "ops_viewer" and method not in READS:
            raise _forbidden(
                {
                    "id": "Peran pemantau operasional hanya dapat melihat, tidak mengubah.",
                    "en": "Operations viewers may look, not change.",
                }
            )
        if caller.role == "partner":
            scope, read_only = PARTNER_ROUTES.get(segment, (None, True))
            if scope is None or scope not in caller.scopes or (read_only and method not in READS):
                raise _forbidden(
                    {
                        "id": "Kunci API ini tidak mencakup akses tersebut.",
                        "en": "This API key's scopes do not cover this call.",
                    }
                )
        if segment == "ops" and caller.role not in STAFF:
            raise _forbidden(
                {
                    "id": "Hanya petugas yang dapat melihat ini.",
                    "en": "Only staff may see this.",
                }
            )

    # --- audit ---------------------------------------------------------------------------------

    def record(self, request: Request, caller: Principal, status: int) -> None:
        """One audit line for a read the gateway served: who read what, when, with what answer."""
        self.audit.record(
            AuditRecord(
                id=new_id(),
                at=now(),
                actor=caller.subject,
                actor_role=caller.role,
                actor_agency=caller.agency,
                method=request.method,
                resource=request.url.path,
                query=request.url.query or None,
                status=status,
                request_id=getattr(request.state, "request_id", None),
            ),
        )


def _unauthorized(reason: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        detail={
            "id": "Token akses atau kunci API tidak sah atau sesi sudah berakhir. Silakan masuk "
            "lagi.",
            "en": "The access token or API key is invalid, or the session has ended. Please sign "
            "in again.",
        },
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        reason=reason,
    )


def _forbidden(detail: dict[str, str]) -> Problem:
    return Problem(403, "forbidden", detail=detail)
