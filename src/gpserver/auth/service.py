"""Sign-in and token checks of one process: the secret key and the user store, built on first use."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from gpserver.auth import tokens
from gpserver.auth.users import Principal, UserStore
from gpserver.db.migrate import ensure_schema
from gpserver.db.session import EngineHolder
from gpserver.errors import InvalidTokenError
from gpserver.settings import Settings


def referer_matches(bound: str, header: str | None) -> bool:
    """True when the request's ``Referer`` fits the referer a token was bound to.

    Clients bind to a page URL, an origin or a bare host (arcgis-rest-js sends ``location.host``;
    the browser then sends the full page URL), so the header may equal it, start with it, or
    have it as its host.
    """
    if not header:
        return False
    if header == bound:
        return True
    if "://" in bound:
        origin = bound.rstrip("/")
        return header == origin or header.startswith(origin + "/") or header.startswith(origin + "?")
    host = urlsplit(header).netloc if "://" in header else header.split("/", 1)[0]
    return host.lower() == bound.lower()


class Authenticator:
    """Issues and checks tokens against the users in the database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: UserStore | None = None
        self._secret: str | None = None
        self._lock = threading.Lock()

    @property
    def secret(self) -> str:
        """The key tokens are signed with."""
        if self._secret is None:
            self._secret = self.settings.storage.resolved_secret_key()
        return self._secret

    @property
    def users(self) -> UserStore:
        """The user store (the SQLite default migrates itself on first use)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    engine = EngineHolder(self.settings.storage.resolved_database_url(), pool_size=5)
                    ensure_schema(engine.get())
                    self._store = UserStore(engine)
        return self._store

    def minutes(self, requested: int | None) -> int:
        """A token's validity: the default when not asked, clamped to the maximum."""
        auth = self.settings.auth
        return max(1, min(requested or auth.token_minutes, auth.token_max_minutes))

    def sign_in(
        self, username: str, password: str, *, minutes: int | None, ip: str | None, referer: str | None
    ) -> tuple[str, float] | None:
        """A token and its expiry (epoch seconds) for good credentials, else ``None``."""
        user = self.users.authenticate(username, password)
        if user is None:
            return None
        expires = time.time() + 60 * self.minutes(minutes)
        claims = tokens.TokenClaims(user.username, user.token_generation, expires, ip, referer)
        return tokens.issue(self.secret, claims), float(int(expires))

    def principal(self, token: str, *, ip: str | None, referer: str | None) -> Principal:
        """The caller a token names; InvalidTokenError when forged, expired, revoked or used elsewhere."""
        claims = tokens.read(self.secret, token)
        user = self.users.get(claims.username)
        if user is None or user.disabled or user.token_generation != claims.generation:
            raise InvalidTokenError("Invalid Token")
        if claims.ip is not None and claims.ip != ip:
            raise InvalidTokenError("Invalid Token")
        if claims.referer is not None and not referer_matches(claims.referer, referer):
            raise InvalidTokenError("Invalid Token")
        return Principal(user.username, user.role)

    def close(self) -> None:
        """Close this process's connections."""
        if self._store is not None:
            self._store.engine.dispose()
