"""The browser session: a signed cookie holding the signed-in key's id, its session version and the CSRF token.

The cookie is signed (itsdangerous, with ASSISTANT_SESSION_SECRET) but not encrypted, so it carries no
secret: only a key id and a version, checked against the key store on every request, so a revoked key
signs its sessions out at once, and signing out (which bumps the key's version) ends every copy of the
cookie too.

Over HTTPS the cookie is `__Host-dd_session`: browsers accept that name only with Secure, Path=/ and no
Domain, so a sibling subdomain cannot plant or overwrite it. Plain HTTP (a dev server) cannot carry a
`__Host-` cookie, so it uses `dd_session`, which is never read over HTTPS.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass, field

from itsdangerous import BadData, URLSafeTimedSerializer

from ..config import MIN_SECRET_CHARS, weak_secret
from ..errors import ConfigError

log = logging.getLogger(__name__)

#: The session cookie's name over plain HTTP (development only).
COOKIE_NAME = "dd_session"
#: Its name over HTTPS, or whenever ASSISTANT_COOKIE_SECURE is set.
SECURE_COOKIE_NAME = "__Host-dd_session"
SESSION_MAX_AGE_S = 8 * 3600


def cookie_name(secure: bool) -> str:
    """The session cookie's name for a Secure (HTTPS) or a plain-HTTP cookie."""
    return SECURE_COOKIE_NAME if secure else COOKIE_NAME


def checked_secret(secret: str, *, dev: bool = False) -> str:
    """The session secret, or ConfigError when it is empty, a placeholder or short.

    With `dev`, an unusable secret is replaced by a random one for this process (sessions then end
    when the server stops), and a warning is logged.
    """
    if not weak_secret(secret):
        return secret.strip()
    if dev:
        log.warning("ASSISTANT_SESSION_SECRET is unset or weak; using a random secret for this dev server")
        return secrets.token_urlsafe(48)
    raise ConfigError(
        "ASSISTANT_SESSION_SECRET must be set to a random value of at least "
        f"{MIN_SECRET_CHARS} characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
    )


@dataclass
class Session:
    """One browser's session: the CSRF token always; once signed in, the key id and the key's session
    version at sign-in (the session ends when the key's version moves on)."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    key_id: str | None = None
    version: int = 0

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
        return str(self._serializer.dumps({"c": session.csrf, "k": session.key_id, "v": session.version}))

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
        key_id, version = data.get("k"), data.get("v")
        if not isinstance(key_id, str) or not isinstance(version, int):
            # A signed-in session without a version predates versions: treat it as signed out.
            return Session(csrf=data["c"])
        return Session(csrf=data["c"], key_id=key_id, version=version)
