"""Named queries for dashboard users: accounts, passwords, sessions, API tokens, throttling.

Passwords are hashed with argon2id; session ids and API tokens are random
256-bit strings stored as SHA-256 (fast to look up, useless if leaked).

Over 400 lines because accounts, sessions, tokens and throttling are one security
boundary sharing hashing and lockout rules, reviewed together.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sitekeeper.domain.fields import validated
from sitekeeper.domain.users import MIN_PASSWORD, ROLES, UserFields
from sitekeeper.errors import NotFound, UsageError
from sitekeeper.store.dialect import upsert_insert
from sitekeeper.store.tables import Client
from sitekeeper.store.web_tables import ApiToken, AppSetting, LoginThrottle, User, WebSession

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password, only burns time")


def check_password(password: str) -> None:
    """UsageError unless the password is long enough: the one rule for the CLI, API and pages."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")


def hash_password(password: str) -> str:
    """An argon2id hash; UsageError if the password is too short to be worth hashing."""
    check_password(password)
    return _hasher.hash(password)


def generate_password() -> str:
    """A random password for a new user or a reset, shown once: 20 characters, 120 bits."""
    return secrets.token_urlsafe(15)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def normalize_email(email: str) -> str:
    """Lower-cased, trimmed e-mail; UsageError if it does not look like one."""
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 320:
        raise UsageError(f"invalid e-mail address {email!r}")
    return value


def add_user(session: Session, *, now: datetime, **values: Any) -> User:
    """Create a user from the fields :class:`UserFields` declares (a password is needed:
    the API generates one when none is given); a client user must name its client,
    staff must not."""
    checked = validated(UserFields, values)
    address = normalize_email(checked["email"])
    client = _client(session, checked["client_id"])
    _check_role(checked["role"], client)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise UsageError(f"a user {address!r} already exists")
    user = User(
        email=address,
        role=checked["role"],
        password_hash=hash_password(checked["password"] or ""),
        client_id=client.id if client else None,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def _client(session: Session, client_id: int | None) -> Client | None:
    if client_id is None:
        return None
    client = session.get(Client, client_id)
    if client is None:
        raise UsageError(f"no client {client_id}")
    return client


def _check_role(role: str, client: Client | None) -> None:
    if role not in ROLES:
        raise UsageError(f"invalid role {role!r}: use {', '.join(ROLES)}")
    if (role == "client") != (client is not None):
        raise UsageError(
            "a client user needs --client (client_id in the API); admins and technicians take none"
        )


def _keep_an_admin(session: Session, user: User) -> None:
    """UsageError if ``user`` is the last active admin: nobody could manage users any more."""
    if user.role != "admin" or not user.active:
        return
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.active.is_(True), User.id != user.id)
    )
    if not others:
        raise UsageError(f"{user.email} is the last active admin: make another admin first")


def get_user(session: Session, ref: str | int) -> User:
    """The user with this id or e-mail; NotFound otherwise."""
    text = str(ref).strip()
    user = session.get(User, int(text)) if text.isdigit() else None
    if user is None:
        user = session.scalar(select(User).where(User.email == text.lower()))
    if user is None:
        raise NotFound(f"no user {ref!r}")
    return user


def list_users(session: Session) -> list[User]:
    """All users, by e-mail."""
    return list(session.scalars(select(User).order_by(User.email)))


def update_user(session: Session, user: User, **values: Any) -> None:
    """Change the role, the client a client user is bound to, or whether the user may log in.

    ``None`` keeps a value; a client user keeps its client unless given another, and
    becoming staff drops it. Disabling ends the user's sessions (tokens only stop
    working, so re-enabling restores them); the last active admin stays one.
    """
    checked = validated(UserFields, values, user)
    if "password" in checked:
        raise UsageError("a password is set with set_password (it ends sessions, revokes tokens)")
    role, active = checked.get("role"), checked.get("active")
    client = _client(session, checked.get("client_id"))
    new_role = role if role is not None else user.role
    if new_role == "client":
        new_client = client if client is not None else user.client
    elif client is not None:
        raise UsageError("admins and technicians take no client")
    else:
        new_client = None
    _check_role(new_role, new_client)
    new_active = active if active is not None else user.active
    if new_role != "admin" or not new_active:
        _keep_an_admin(session, user)
    if user.active and not new_active:
        _end_sessions(session, user)
    user.role, user.active, user.client = new_role, new_active, new_client
    session.flush()


def _end_sessions(session: Session, user: User, keep: str | None = None) -> None:
    query = delete(WebSession).where(WebSession.user_id == user.id)
    if keep is not None:
        query = query.where(WebSession.id_hash != _digest(keep))
    session.execute(query)


def set_password(
    session: Session,
    user: User,
    password: str,
    *,
    keep_session: str | None = None,
    keep_tokens: bool = False,
    keep_token: int | None = None,
) -> int:
    """Replace the password, end the user's sessions and revoke its API tokens; returns how
    many tokens were revoked.

    A new password says "whoever knew the old one must lose access": a session or
    token someone else holds is exactly that access (OWASP session management: end
    every other session on a password change or reset). ``keep_session`` is the raw id
    of the session making the change, and ``keep_token`` the id of the token making it,
    when it is the user's own: changing one's password does not cut the branch one sits
    on. ``keep_tokens`` keeps every token (an admin's choice on a reset, or the user's on
    a routine change), for scripts that must not break.
    """
    user.password_hash = hash_password(password)
    _end_sessions(session, user, keep_session)
    revoked = 0
    if not keep_tokens:
        query = delete(ApiToken).where(ApiToken.user_id == user.id)
        if keep_token is not None:
            query = query.where(ApiToken.id != keep_token)
        revoked = int(getattr(session.execute(query), "rowcount", 0) or 0)
    session.flush()
    return revoked


class PasswordOutcome(StrEnum):
    """What became of a password change asked with the current password."""

    CHANGED = "changed"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class PasswordChange:
    """The outcome, and until when further attempts are refused (when locked)."""

    outcome: PasswordOutcome
    locked_until: datetime | None = None


def change_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    now: datetime,
    *,
    keep_session: str | None = None,
    keep_token: int | None = None,
    keep_tokens: bool = False,
) -> PasswordChange:
    """Set ``new`` if ``current`` is right; wrong guesses count like failed logins.

    Other sessions end and other tokens are revoked unless ``keep_tokens`` (see
    ``set_password``).

    Someone holding a stolen session or token could otherwise guess the password
    (to take the account over for good) at full speed. A failure is recorded, not
    raised, so the caller commits it; a too-short ``new`` raises UsageError first.
    """
    check_password(new)
    key = f"password:{user.id}"
    until = locked_until(session, [key], now)
    if until is not None:
        return PasswordChange(PasswordOutcome.LOCKED, until)
    if not _verify(user.password_hash, current):
        record_failure(session, [(key, PAIR_POLICY)], now)  # one holder, one account
        return PasswordChange(PasswordOutcome.WRONG)
    clear_failures(session, key)
    set_password(
        session,
        user,
        new,
        keep_session=keep_session,
        keep_token=keep_token,
        keep_tokens=keep_tokens,
    )
    return PasswordChange(PasswordOutcome.CHANGED)


def remove_user(session: Session, user: User) -> None:
    """Delete a user with its sessions and tokens (never the last active admin)."""
    _keep_an_admin(session, user)
    session.delete(user)
    session.flush()


def authenticate(session: Session, email: str, password: str, now: datetime) -> User | None:
    """The active user with these credentials, else None (same work either way)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    session.flush()
    return user


# --- browser sessions -------------------------------------------------------------------------


def create_session(
    session: Session, user: User, now: datetime, ttl: timedelta
) -> tuple[str, WebSession]:
    """A new session: the raw id for the cookie, and its row (with the CSRF token)."""
    raw = secrets.token_urlsafe(32)
    row = WebSession(
        id_hash=_digest(raw),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    return raw, row


def session_user(session: Session, raw: str, now: datetime) -> tuple[User, WebSession] | None:
    """The user of a live session id, or None (unknown, expired or the user is disabled)."""
    row = session.get(WebSession, _digest(raw))
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def end_session(session: Session, raw: str) -> None:
    """Log out: forget the session."""
    session.execute(delete(WebSession).where(WebSession.id_hash == _digest(raw)))


def purge_sessions(session: Session, now: datetime) -> int:
    """Delete expired sessions; returns how many."""
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


# --- API tokens -------------------------------------------------------------------------------

TOKEN_PREFIX = "skt_"  # noqa: S105 - a marker, not a secret


MAX_TOKEN_LIFETIME = timedelta(days=3650)


def create_token(
    session: Session,
    user: User,
    name: str,
    now: datetime,
    *,
    expires_in: timedelta | None = None,
) -> tuple[str, ApiToken]:
    """A new API token: the raw value (shown once) and its row; ``expires_in`` bounds its life."""
    label = name.strip()
    if not label or len(label) > 100:
        raise UsageError("a token needs a name of 1 to 100 characters")
    if expires_in is not None and not timedelta(0) < expires_in <= MAX_TOKEN_LIFETIME:
        raise UsageError("a token expires after 1 second to 3650 days")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=label,
        token_hash=_digest(raw),
        prefix=raw[:10],
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    session.add(row)
    session.flush()
    return raw, row


def token_lookup(session: Session, raw: str, now: datetime) -> tuple[User, ApiToken] | None:
    """The active user owning this live (unexpired) token, with the token; else None."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    # Written at most once a minute so scripts hammering the API do not write on every call.
    if row.last_used_at is None or now - row.last_used_at >= timedelta(minutes=1):
        row.last_used_at = now
    return user, row


def token_user(session: Session, raw: str, now: datetime) -> User | None:
    """The active user owning this live token, or None."""
    found = token_lookup(session, raw, now)
    return found[0] if found is not None else None


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first (expired ones too, until revoked or purged)."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, user: User, token_id: int) -> None:
    """Delete one of the user's tokens; NotFound if it is not theirs."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"no token {token_id}")
    session.delete(row)
    session.flush()


def get_token(session: Session, token_id: int) -> ApiToken:
    """Any user's token by id (admins); NotFound otherwise."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}")
    return row


def purge_tokens(session: Session, now: datetime, grace: timedelta = timedelta(days=30)) -> int:
    """Delete tokens expired more than ``grace`` ago (kept a while so their owners can see
    why a script stopped); returns how many."""
    result = session.execute(delete(ApiToken).where(ApiToken.expires_at <= now - grace))
    return int(getattr(result, "rowcount", 0) or 0)


# --- login throttling -------------------------------------------------------------------------
#
# OWASP (Authentication cheat sheet, "Account lockout"; "Blocking brute force attacks"):
# a hard lock after N failures lets anyone lock the owner out for good by failing on
# purpose. So failures buy progressively longer delays instead (doubling up to a
# ceiling), counted per account *and address* (one attacker, one victim), per account
# over all addresses (a distributed attack) and per address (one attacker spraying
# many accounts). The owner is not held by the account-wide delay on an address it
# logged in from before (``KNOWN_FOR``), and a success resets that address's count for
# the account. Rows are forgotten after ``forget_after`` without failures.


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """``free`` failures cost nothing; each further one makes the next attempt wait
    ``first_delay``, doubling up to ``max_delay``; a quiet ``forget_after`` resets the count."""

    free: int
    first_delay: timedelta
    max_delay: timedelta
    forget_after: timedelta = timedelta(hours=1)

    def delay(self, failures: int) -> timedelta | None:
        """The wait after ``failures`` failures in a row (None: none yet)."""
        if failures < self.free:
            return None
        steps = min(failures - self.free, 20)  # 2**20 first delays is past any ceiling
        wait: timedelta = self.first_delay * (2**steps)
        return min(wait, self.max_delay)


# One attacker against one account: the tightest.
PAIR_POLICY = ThrottlePolicy(5, timedelta(seconds=15), timedelta(minutes=15))
# Everyone against one account (many addresses), and one address against many accounts.
ACCOUNT_POLICY = ThrottlePolicy(10, timedelta(seconds=15), timedelta(minutes=15))
IP_POLICY = ThrottlePolicy(20, timedelta(seconds=15), timedelta(minutes=15))
KNOWN_FOR = timedelta(days=30)  # an address the owner logged in from counts as theirs this long
_KNOWN = "known:"


def wait_minutes(until: datetime, now: datetime) -> int:
    """Whole minutes (at least one) until a lock ends, for "try again in N minutes"."""
    return max(1, int((until - now).total_seconds() // 60) + 1)


def wait_text(until: datetime, now: datetime) -> str:
    """``15 seconds`` or ``3 minutes``: how long until the next attempt is taken."""
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = wait_minutes(until, now)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def locked_until(session: Session, keys: list[str], now: datetime) -> datetime | None:
    """The latest wait among ``keys`` still in force, or None."""
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))
    ends = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now]
    return max(ends) if ends else None


def record_failure(
    session: Session, keyed: list[tuple[str, ThrottlePolicy]], now: datetime
) -> None:
    """Count one failure against each key and set the wait it has earned.

    ``window_start`` holds the time of the last failure: a key quiet for its policy's
    ``forget_after`` starts counting again.
    """
    upsert = upsert_insert(session.connection())
    for key, _ in keyed:
        session.execute(
            upsert(LoginThrottle)
            .values(key=key, failures=0, window_start=now, locked_until=None)
            .on_conflict_do_nothing()
        )
    for key, policy in keyed:
        row = session.scalars(
            select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
        ).one()
        if now - row.window_start > policy.forget_after:
            row.failures = 0
        row.failures += 1
        row.window_start = now
        delay = policy.delay(row.failures)
        row.locked_until = now + delay if delay is not None else None
    session.flush()


def clear_failures(session: Session, key: str) -> None:
    """Forget the failures of one key (after a successful login)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


def remember_address(session: Session, pair: str, now: datetime) -> None:
    """Note that the owner of ``pair`` (``EMAIL|ADDRESS``) logged in from that address."""
    key = _KNOWN + pair
    clear_failures(session, key)
    session.add(LoginThrottle(key=key, failures=0, window_start=now, locked_until=None))
    session.flush()


def known_address(session: Session, pair: str, now: datetime) -> bool:
    """Whether the owner of ``pair`` logged in from that address within ``KNOWN_FOR``."""
    row = session.get(LoginThrottle, _KNOWN + pair)
    return row is not None and now - row.window_start <= KNOWN_FOR


def purge_throttle(session: Session, now: datetime) -> int:
    """Delete throttle rows nobody needs: counts quiet for a day with no wait in force, and
    known addresses not seen for ``KNOWN_FOR``; returns how many (housekeeping)."""
    quiet = now - max(PAIR_POLICY.forget_after, ACCOUNT_POLICY.forget_after, IP_POLICY.forget_after)
    quiet = min(quiet, now - timedelta(days=1))
    stale_counts = delete(LoginThrottle).where(
        ~LoginThrottle.key.startswith(_KNOWN),
        LoginThrottle.window_start < quiet,
        (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until <= now),
    )
    stale_known = delete(LoginThrottle).where(
        LoginThrottle.key.startswith(_KNOWN), LoginThrottle.window_start < now - KNOWN_FOR
    )
    counts = session.execute(stale_counts)
    known = session.execute(stale_known)
    return sum(int(getattr(r, "rowcount", 0) or 0) for r in (counts, known))


def purge_expired(session: Session, now: datetime) -> int:
    """Housekeeping for the dashboard's tables: expired sessions, tokens expired a while,
    stale throttle rows; returns how many rows went."""
    return purge_sessions(session, now) + purge_tokens(session, now) + purge_throttle(session, now)


# --- installation settings --------------------------------------------------------------------


def get_setting(session: Session, key: str) -> dict[str, Any]:
    """A stored setting's JSON value ({} when unset)."""
    row = session.get(AppSetting, key)
    return dict(row.value) if row is not None else {}


def put_setting(session: Session, key: str, value: dict[str, Any]) -> None:
    """Store a setting's JSON value."""
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=value))
    else:
        row.value = value
    session.flush()
