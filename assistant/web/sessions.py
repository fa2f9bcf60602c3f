"""The browser session: a signed cookie holding the signed-in key's id and the CSRF token.

The cookie is signed (itsdangerous, with ASSISTANT_SESSION_SECRET) but not encrypted, so it carries no
secret: only a key id, checked against the key store on every request so a revoked key signs its
sessions out at once.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass, field

from itsdangerous import BadData, URLSafeTimedSerializer

from ..errors import ConfigError

log = logging.getLogger(__name__)

COOKIE_NAME = "dd_session"
SESSION_MAX_AGE_S = 8 * 3600
MIN_SECRET_CHARS = 32
_PLACEHOLDERS = {"", "changeme", "change-me", "changethis", "change_this", "secret", "session-secret", "dev", "test"}


def checked_secret(secret: str, *, dev: bool = False) -> str:
    """The session secret, or ConfigError when it is empty, a placeholder or short.

    With `dev`, an unusable secret is replaced by a random one for this process (sessions then end
    when the server stops), and a warning is logged.
    """
    value = secret.strip()
    weak = value.lower() in _PLACEHOLDERS or "change" in value.lower() or len(value) < MIN_SECRET_CHARS
    if not weak:
        return value
    if dev:
        log.warning("ASSISTANT_SESSION_SECRET is unset or weak; using a random secret for this dev server")
        return secrets.token_urlsafe(48)
    raise ConfigError(
        "ASSISTANT_SESSION_SECRET must be set to a random value of at least "
        f"{MIN_SECRET_CHARS} characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
    )


@dataclass
class Session:
    """One browser's session: the CSRF token always, the key id once signed in."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    key_id: str | None = None

    def csrf_matches(self, presented: str) -> bool:
        """Constant-time comparison of a form's token with the session's."""
        return bool(presented) and hmac.compare_digest(self.csrf.encode(), presented.encode())


class SessionCodec:
    """Turns a Session into a signed, timestamped cookie value and back."""

    def __init__(self, secret: str, max_age_s: int = SESSION_MAX_AGE_S) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="assistant.web.session")
        self.max_age_s = max_age_s

    def dump(self, session: Session) -> str:
        """The cookie value for a session."""
        return str(self._serializer.dumps({"c": session.csrf, "k": session.key_id}))

    def load(self, value: str | None) -> Session | None:
        """The session in a cookie value, or None when it is missing, tampered with or expired."""
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=self.max_age_s)
        except BadData:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        key_id = data.get("k")
        return Session(csrf=data["c"], key_id=key_id if isinstance(key_id, str) else None)
