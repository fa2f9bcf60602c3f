"""Who is asking from Slack, and which guidance they may draw on there.

Everything here fails closed: when in doubt, a person is a partner and nobody is compliance.
Showing partner guidance to staff is harmless; the other way round is a leak.

Scope of a channel:
1. a Slack Connect channel (shared with another organisation) is "partner", always; when Slack cannot
   tell us whether a channel is shared, we assume it is;
2. ASSISTANT_SLACK_CHANNEL_AUDIENCES, e.g. "C0123=partner", can only narrow a channel to partner
   ("=internal" is the default and never overrides sharing);
3. otherwise "internal".

A person is a partner when the channel's scope is partner, or they belong to another Slack team (by
users.info or by the team ids in the request), or they are a workspace guest (single- or multi-channel),
or Slack will not tell us who they are (a failed users.info is never cached).

Compliance reviewers are named, not inferred: the user ids in ASSISTANT_SLACK_COMPLIANCE_USERS and the
members of the user group ASSISTANT_SLACK_COMPLIANCE_USERGROUP (usergroups.users.list, remembered for
a minute), and only full members of the app's own workspace. Membership of the compliance channel
grants nothing. The compliance channel itself must be private and not shared, or no case card goes
there (`compliance_channel_problem`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ..enums import Role
from ..errors import ConfigError
from ..identity import User

log = logging.getLogger(__name__)

PARTNER = "partner"
INTERNAL = "internal"
SCOPES = {"partner": PARTNER, "public": PARTNER, "internal": INTERNAL}
CACHE_SECONDS = 60.0
#: conversations.info flags that mean people outside this workspace can read the channel.
SHARED_FLAGS = ("is_ext_shared", "is_pending_ext_shared", "is_shared", "is_org_shared")


def parse_user_ids(value: str) -> frozenset[str]:
    """'U0123, U0456' as a set of Slack user ids."""
    return frozenset(part.strip() for part in value.replace(";", ",").split(",") if part.strip())


def payload_teams(body: Mapping[str, Any] | None) -> set[str]:
    """The teams a request says its user belongs to (events, actions, views and slash commands)."""
    if not body:
        return set()
    event = body.get("event")
    event = event if isinstance(event, Mapping) else {}
    user = body.get("user")
    user = user if isinstance(user, Mapping) else {}
    values = (body.get("user_team"), event.get("user_team"), event.get("source_team"), user.get("team_id"))
    return {str(v) for v in values if v}


def compliance_channel_problem(info: Mapping[str, Any]) -> str | None:
    """Why a channel (its conversations.info) must not receive case cards; None when it may."""
    if not info.get("is_private"):
        return "it is not private, so anyone in the workspace could read the cases and join it"
    shared = [flag for flag in SHARED_FLAGS if info.get(flag)]
    if shared:
        return f"it is shared outside this workspace ({', '.join(shared)})"
    return None


def check_compliance_channel(client: WebClient, channel: str) -> None:
    """At start: ConfigError unless the compliance channel is private and not shared (no channel: fine)."""
    if not channel:
        return
    try:
        info = client.conversations_info(channel=channel)["channel"] or {}
    except SlackApiError as exc:
        raise ConfigError(
            f"ASSISTANT_SLACK_COMPLIANCE_CHANNEL {channel}: Slack will not describe it "
            f"({exc.response.get('error')}); invite the app to the channel"
        ) from exc
    problem = compliance_channel_problem(info)
    if problem:
        raise ConfigError(f"ASSISTANT_SLACK_COMPLIANCE_CHANNEL {channel}: {problem}; use a private, unshared channel")


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

    def __init__(
        self,
        channel_audiences: Mapping[str, str],
        compliance_channel: str,
        *,
        compliance_users: Iterable[str] = (),
        compliance_usergroup: str = "",
    ) -> None:
        self.channel_audiences = dict(channel_audiences)
        self.compliance_channel = compliance_channel
        self.compliance_users = frozenset(compliance_users)
        self.compliance_usergroup = compliance_usergroup
        self._channels = _TTLCache(CACHE_SECONDS * 10)
        self._users = _TTLCache(CACHE_SECONDS * 10)
        self._groups = _TTLCache(CACHE_SECONDS)
        self._compliance_channel = _TTLCache(CACHE_SECONDS)

    @property
    def has_reviewers(self) -> bool:
        """Whether anyone at all may decide cases in Slack."""
        return bool(self.compliance_users or self.compliance_usergroup)

    # -- channels -----------------------------------------------------------------------------------------

    def scope(self, client: WebClient, channel: str | None, body: Mapping[str, Any] | None = None) -> str:
        """'partner' or 'internal' for guidance asked about in this channel."""
        if channel and self.channel_audiences.get(channel) == PARTNER:
            return PARTNER
        if body is not None and body.get("is_ext_shared_channel"):
            return PARTNER
        if not channel or channel.startswith("D"):
            return INTERNAL  # a DM; an external person or a guest in it is caught by who they are
        return PARTNER if self.is_shared(client, channel) else INTERNAL

    def is_shared(self, client: WebClient, channel: str) -> bool:
        """Whether people of another organisation can read the channel (True when Slack will not say)."""
        cached = self._channels.get(channel)
        if cached is None:
            try:
                info = client.conversations_info(channel=channel)["channel"] or {}
            except SlackApiError as exc:
                log.warning(
                    "cannot tell if channel is shared; treating it as partner",
                    extra={"channel": channel, "error": exc.response.get("error")},
                )
                return True
            cached = bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared"))
            self._channels.put(channel, cached)
        return bool(cached)

    def compliance_channel_problem(self, client: WebClient) -> str | None:
        """Why case cards must not go to the compliance channel now; None when it is private and unshared.

        Checked again every minute, so a channel made public or shared later stops receiving cards.
        """
        channel = self.compliance_channel
        if not channel:
            return "no compliance channel is configured"
        cached = self._compliance_channel.get(channel)
        if cached is None:
            try:
                info = client.conversations_info(channel=channel)["channel"] or {}
            except SlackApiError as exc:
                return f"Slack will not describe it ({exc.response.get('error')})"
            cached = compliance_channel_problem(info) or ""
            self._compliance_channel.put(channel, cached)
        return str(cached) or None

    # -- people ---------------------------------------------------------------------------------------------

    def profile(self, client: WebClient, user_id: str) -> dict[str, Any] | None:
        """users.info for one user (cached); None when Slack will not say (not cached, so asked again)."""
        cached = self._users.get(user_id)
        if cached is None:
            try:
                cached = dict(client.users_info(user=user_id)["user"] or {})
            except SlackApiError as exc:
                log.warning("users.info failed", extra={"user": user_id, "error": exc.response.get("error")})
                return None
            if not cached:
                return None
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
        """The assistant user for a Slack user asking in a channel (partner or sales, by scope and team).

        `body` is the request (event envelope, action, view submission or slash command): its shared-channel
        flag and team ids count as much as what users.info says.
        """
        profile = self.profile(client, user_id)
        teams = payload_teams(body)
        if profile is not None and profile.get("team_id"):
            teams.add(str(profile["team_id"]))
        foreign = sorted(t for t in teams if t != home_team)
        guest = profile is not None and bool(profile.get("is_restricted") or profile.get("is_ultra_restricted"))
        stranger = profile is None or bool(profile.get("is_stranger")) or not home_team
        if foreign:
            org = f"slack:{foreign[0]}"
        elif stranger:
            org = f"slack:unknown:{user_id}"
        elif guest:
            # A guest's organisation is not known; alone, they see only their own cases.
            org = f"slack:guest:{user_id}"
        else:
            org = INTERNAL
        partner = org != INTERNAL or self.scope(client, channel, body) == PARTNER
        name = str((profile or {}).get("real_name") or (profile or {}).get("name") or "")
        return User(id=user_id, role="partner" if partner else "sales", org=org, display_name=name)

    # -- compliance -------------------------------------------------------------------------------------------

    def is_compliance(self, client: WebClient, user_id: str, *, home_team: str | None = None) -> bool:
        """True when the user is a named reviewer and a full member of the app's own workspace."""
        named = user_id in self.compliance_users or user_id in self._usergroup_members(client)
        if not user_id or not named:
            return False
        profile = self.profile(client, user_id)
        if profile is None or profile.get("is_stranger") or profile.get("deleted") or profile.get("is_bot"):
            return False
        if profile.get("is_restricted") or profile.get("is_ultra_restricted"):
            return False
        team = str(profile.get("team_id") or "")
        return not (home_team and team and team != home_team)

    def _usergroup_members(self, client: WebClient) -> frozenset[str]:
        group = self.compliance_usergroup
        if not group:
            return frozenset()
        members = self._groups.get(group)
        if members is None:
            try:
                members = frozenset(client.usergroups_users_list(usergroup=group).get("users") or [])
            except SlackApiError as exc:
                error = exc.response.get("error")
                log.warning("cannot list the compliance user group", extra={"usergroup": group, "error": error})
                return frozenset()
            self._groups.put(group, members)
        return frozenset(members)

    def compliance_user(self, client: WebClient, user_id: str, *, home_team: str | None = None) -> User | None:
        """The user as a compliance reviewer, or None when they are not one."""
        if not self.is_compliance(client, user_id, home_team=home_team):
            return None
        name = str((self.profile(client, user_id) or {}).get("real_name") or "")
        return User(id=user_id, role=Role.COMPLIANCE, org=INTERNAL, display_name=name)
