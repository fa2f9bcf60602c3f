"""Who is asking from Slack, and which guidance they may draw on there.

Scope of a channel (most specific first):
1. ASSISTANT_SLACK_CHANNEL_AUDIENCES, e.g. "C0123=partner,C0456=internal";
2. a Slack Connect channel (shared with another organisation) is "partner";
3. otherwise "internal". When Slack cannot tell us whether a channel is shared, we assume it is:
   showing partner guidance to staff is harmless, the other way round is a leak.

A person is a partner when the channel's scope is partner or they belong to another Slack team
(an external member of a Slack Connect channel or DM). Compliance are the members of
ASSISTANT_SLACK_COMPLIANCE_CHANNEL (ask for a private channel): membership is checked with
conversations.members and remembered for a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ..errors import ConfigError
from ..identity import User

log = logging.getLogger(__name__)

PARTNER = "partner"
INTERNAL = "internal"
SCOPES = {"partner": PARTNER, "public": PARTNER, "internal": INTERNAL}
CACHE_SECONDS = 60.0


def parse_channel_audiences(value: str) -> dict[str, str]:
    """'C1=partner, C2=internal' as {channel id: scope}; ConfigError names the bad entry."""
    mapping: dict[str, str] = {}
    for entry in value.replace(";", ",").split(","):
        entry = entry.strip()
        if not entry:
            continue
        channel, sep, audience = entry.partition("=")
        scope = SCOPES.get(audience.strip().lower())
        if not sep or not channel.strip() or scope is None:
            raise ConfigError(f"ASSISTANT_SLACK_CHANNEL_AUDIENCES: {entry!r} is not CHANNEL=partner|internal|public")
        mapping[channel.strip()] = scope
    return mapping


class _TTLCache:
    """A tiny thread-safe cache whose entries expire; Slack metadata changes rarely."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or self.clock() - item[0] > self.seconds:
                return None
            return item[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if len(self._items) > 5000:
                self._items.clear()
            self._items[key] = (self.clock(), value)


class Directory:
    """Resolves Slack channels to scopes and Slack users to assistant `User`s."""

    def __init__(self, channel_audiences: Mapping[str, str], compliance_channel: str) -> None:
        self.channel_audiences = dict(channel_audiences)
        self.compliance_channel = compliance_channel
        self._channels = _TTLCache(CACHE_SECONDS * 10)
        self._users = _TTLCache(CACHE_SECONDS * 10)
        self._members = _TTLCache(CACHE_SECONDS)

    def scope(self, client: WebClient, channel: str | None, body: Mapping[str, Any] | None = None) -> str:
        """'partner' or 'internal' for guidance asked about in this channel."""
        if channel and channel in self.channel_audiences:
            return self.channel_audiences[channel]
        if body is not None and body.get("is_ext_shared_channel"):
            return PARTNER
        if not channel or channel.startswith("D"):
            return INTERNAL  # a DM; an external person in it is caught by their team below
        cached = self._channels.get(channel)
        if cached is None:
            try:
                info = client.conversations_info(channel=channel)["channel"] or {}
                shared = bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared"))
                cached = PARTNER if shared else INTERNAL
            except SlackApiError as exc:
                log.warning(
                    "cannot tell if channel is shared; treating it as partner",
                    extra={"channel": channel, "error": exc.response.get("error")},
                )
                return PARTNER
            self._channels.put(channel, cached)
        return str(cached)

    def profile(self, client: WebClient, user_id: str) -> dict[str, Any]:
        """users.info for one user (cached); an empty dict when Slack will not say."""
        cached = self._users.get(user_id)
        if cached is None:
            try:
                cached = dict(client.users_info(user=user_id)["user"] or {})
            except SlackApiError as exc:
                log.warning("users.info failed", extra={"user": user_id, "error": exc.response.get("error")})
                cached = {}
            self._users.put(user_id, cached)
        return dict(cached)

    def user(
        self,
        client: WebClient,
        user_id: str,
        *,
        channel: str | None,
        home_team: str | None,
        body: Mapping[str, Any] | None = None,
    ) -> User:
        """The assistant user for a Slack user asking in a channel (partner or sales, by scope and team)."""
        profile = self.profile(client, user_id)
        team = str(profile.get("team_id") or "")
        external = bool(profile.get("is_stranger")) or bool(team and home_team and team != home_team)
        partner = external or self.scope(client, channel, body) == PARTNER
        name = str(profile.get("real_name") or profile.get("name") or "")
        return User(
            id=user_id,
            role="partner" if partner else "sales",
            org=f"slack:{team}" if external else "internal",
            display_name=name,
        )

    def is_compliance(self, client: WebClient, user_id: str) -> bool:
        """True when the user is a member of the compliance channel."""
        if not self.compliance_channel:
            return False
        members = self._members.get(self.compliance_channel)
        if members is None:
            members = set()
            cursor = None
            try:
                while True:
                    page = client.conversations_members(channel=self.compliance_channel, cursor=cursor, limit=500)
                    members.update(page.get("members") or [])
                    cursor = (page.get("response_metadata") or {}).get("next_cursor")
                    if not cursor:
                        break
            except SlackApiError as exc:
                log.warning("cannot list the compliance channel", extra={"error": exc.response.get("error")})
                return False
            self._members.put(self.compliance_channel, members)
        return user_id in members

    def compliance_user(self, client: WebClient, user_id: str) -> User | None:
        """The user as a compliance reviewer, or None when they are not one."""
        if not self.is_compliance(client, user_id):
            return None
        name = str(self.profile(client, user_id).get("real_name") or "")
        return User(id=user_id, role="compliance", org="internal", display_name=name)
