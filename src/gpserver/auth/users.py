"""UserStore: the users who may sign in, their roles, password hashes and token generations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from gpserver.auth.passwords import hash_password, needs_rehash, verify_password
from gpserver.db.models import User
from gpserver.db.session import EngineHolder
from gpserver.errors import ConfigurationError

VIEWER, PUBLISHER, ADMINISTRATOR = "viewer", "publisher", "administrator"
ROLES = (VIEWER, PUBLISHER, ADMINISTRATOR)
MIN_PASSWORD = 8
_NAME = re.compile(r"[A-Za-z0-9._@-]{1,200}")

U = cast(Table, User.__table__)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user with a valid token."""

    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        """Administrators may use every service and see every job."""
        return self.role == ADMINISTRATOR


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One row of ``gp_users``."""

    username: str
    password_hash: str
    role: str
    token_generation: int
    disabled: bool
    created: datetime


def check_role(role: str) -> str:
    """The role, or ConfigurationError naming the valid ones."""
    if role not in ROLES:
        raise ConfigurationError(f"Unknown role '{role}': use one of {', '.join(ROLES)}.")
    return role


def check_password(password: str) -> str:
    """The password, or ConfigurationError when it is too short."""
    if len(password) < MIN_PASSWORD:
        raise ConfigurationError(f"The password must have at least {MIN_PASSWORD} characters.")
    return password


class UserStore:
    """Reads and writes of ``gp_users``; each method is one short transaction."""

    def __init__(self, engine: EngineHolder) -> None:
        self.engine = engine

    def get(self, username: str) -> UserRecord | None:
        """The user (names are case-sensitive, as in ArcGIS)."""
        with self.engine.autocommit().connect() as conn:
            row = conn.execute(select(U).where(U.c.username == username)).one_or_none()
        return None if row is None else UserRecord(**row._asdict())

    def list(self) -> list[UserRecord]:
        """Every user, by name."""
        with self.engine.autocommit().connect() as conn:
            rows = conn.execute(select(U).order_by(U.c.username)).all()
        return [UserRecord(**row._asdict()) for row in rows]

    def add(self, username: str, password: str, role: str) -> UserRecord:
        """Create a user; ConfigurationError for a bad name, role or password, or an existing user."""
        if not _NAME.fullmatch(username):
            raise ConfigurationError("A user name has 1-200 letters, digits, '.', '_', '@' or '-'.")
        values = {
            "username": username,
            "password_hash": hash_password(check_password(password)),
            "role": check_role(role),
            "token_generation": 0,
            "disabled": False,
            "created": datetime.now(UTC),
        }
        try:
            with self.engine.autocommit().begin() as conn:
                conn.execute(insert(U).values(**values))
        except IntegrityError:
            raise ConfigurationError(f"The user '{username}' exists already.") from None
        return UserRecord(**values)  # type: ignore[arg-type]

    def _update(self, username: str, **values: object) -> bool:
        with self.engine.autocommit().begin() as conn:
            done = conn.execute(update(U).where(U.c.username == username).values(**values).returning(U.c.username))
            return done.first() is not None

    def set_password(self, username: str, password: str) -> bool:
        """A new password (tokens stay valid; revoke them too if the old one leaked)."""
        return self._update(username, password_hash=hash_password(check_password(password)))

    def set_role(self, username: str, role: str) -> bool:
        """A new role."""
        return self._update(username, role=check_role(role))

    def set_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (or enable) a user: a disabled user cannot sign in and their tokens are refused."""
        return self._update(username, disabled=disabled)

    def revoke_tokens(self, username: str) -> bool:
        """Invalidate every token issued to the user so far."""
        return self._update(username, token_generation=U.c.token_generation + 1)

    def authenticate(self, username: str, password: str) -> UserRecord | None:
        """The user when the password matches and the user is enabled; constant work for unknown users."""
        user = self.get(username) if _NAME.fullmatch(username) else None
        ok = verify_password(user.password_hash if user else None, password)
        if not ok or user is None or user.disabled:
            return None
        if needs_rehash(user.password_hash):
            self._update(username, password_hash=hash_password(password))
        return user
