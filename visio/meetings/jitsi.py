"""Jitsi Meet join links and their tokens, issued around one appointment.

Three modes, chosen by which settings are present:

- ``plain``: no secret. Bare ``https://domain/room`` links that anyone holding them can
  use, with no moderator control: for the demo only.
- ``hs256``: a self-hosted Jitsi Meet with token authentication (``jitsi-meet-tokens``),
  sharing an application id and secret with visio.
- ``rs256``: 8x8 Jitsi as a Service (JaaS): tokens signed with the RSA private key whose
  public half was uploaded to JaaS, named by ``kid``; issuer ``chat``, subject the JaaS
  AppID (``vpaas-magic-cookie-…``), which is also the tenant segment of the URL.

Token claims follow Jitsi's documented format (lib-jitsi-meet ``doc/tokens.md``) and
JaaS's (developer.8x8.com "The Jitsi JSON Web Token"). Only the partner agent is ever a
moderator; the citizen's side is the station, a guest named after the site, so no
citizen's name or address ever goes into a token or a URL.

Who holds a token (`carries_token`): on a self-hosted Jitsi, the moderator alone. Its
Prosody counts anyone authenticated by a token as the room's host (``mod_muc_wait_for_host``
lets them open the room and makes them its owner), so the station joins with no token, as
a guest of the anonymous domain: it waits until the agent is in and is never given
moderator rights (``deploy/jitsi/`` sets such a server up and explains the choice). JaaS
admits nobody without a token, so there the station holds one that says it is no moderator.

Nothing here reads the clock: the caller passes ``now``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from urllib.parse import quote, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from visio.meetings.rooms import is_room_name

Mode = Literal["plain", "hs256", "rs256"]
JoinState = Literal["too_early", "open", "over"]

AUDIENCE: Final = "jitsi"
# JaaS documents the issuer as this fixed value, whatever the customer.
JAAS_ISSUER: Final = "chat"
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits);
# PyJWT warns below this, and a short shared secret is the weak link of the whole scheme.
MIN_APP_SECRET_BYTES: Final = 32
# NIST SP 800-131A: RSA keys under 2048 bits are no longer acceptable for signatures.
MIN_RSA_KEY_BITS: Final = 2048
# A session is about a citizen's personal file (benefits, health insurance, taxes): nothing
# of it may leave the call, so recording, streaming and transcription are refused to both
# sides, and nobody dials out from the room. JaaS reads these flags; a self-hosted Jitsi
# ignores the ones it does not know.
DISABLED_FEATURES: Final[dict[str, str]] = {
    "livestreaming": "false",
    "recording": "false",
    "transcription": "false",
    "outbound-call": "false",
    "sip-outbound-call": "false",
}

_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?")
# Jitsi compares `sub` with the lowercased tenant, so only lowercase tenants can match.
_TENANT = re.compile(r"[a-z0-9][a-z0-9._-]*")
_ONE_SECOND: Final = timedelta(seconds=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class JitsiConfig:
    """How visio reaches Jitsi, validated on construction.

    Fields map to the environment: ``domain`` ← ``VISIO_JITSI_DOMAIN``, ``app_id`` ←
    ``VISIO_JITSI_APP_ID``, ``app_secret`` ← ``VISIO_JITSI_APP_SECRET``,
    ``private_key_pem`` ← the contents of ``VISIO_JITSI_PRIVATE_KEY_FILE``, ``kid`` ←
    ``VISIO_JITSI_KID``, ``tenant`` ← ``VISIO_JITSI_TENANT``. Every inconsistency raises
    ``ValueError`` whose message starts with the variable to fix.

    The three margins shape the window around an appointment ``[start, end)``:

    - ``early_join``: the join button opens this long before ``start``;
    - ``not_before_margin``: clock-skew allowance, the token is valid this long before
      the button opens, so a Jitsi server whose clock is ahead still accepts it;
    - ``expiry_margin``: the session may overrun ``end`` by this much; the button closes
      and the token expires together, at ``end + expiry_margin``.
    """

    domain: str
    app_id: str | None = None
    # Secrets stay out of repr() so a logged config never leaks them.
    app_secret: str | None = field(default=None, repr=False)
    private_key_pem: str | None = field(default=None, repr=False)
    kid: str | None = None
    tenant: str | None = None
    not_before_margin: timedelta = timedelta(minutes=10)
    expiry_margin: timedelta = timedelta(minutes=30)
    early_join: timedelta = timedelta(minutes=15)
    # Parsed once here rather than at every token; derived, so not part of equality.
    _private_key: RSAPrivateKey | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for variable, value in (
            ("VISIO_JITSI_APP_ID", self.app_id),
            ("VISIO_JITSI_APP_SECRET", self.app_secret),
            ("VISIO_JITSI_PRIVATE_KEY_FILE", self.private_key_pem),
            ("VISIO_JITSI_KID", self.kid),
            ("VISIO_JITSI_TENANT", self.tenant),
        ):
            if value is not None and not value.strip():
                raise ValueError(f"{variable}: empty; leave it unset instead")
        if not _HOST.fullmatch(self.domain):
            raise ValueError(
                "VISIO_JITSI_DOMAIN: a lowercase host name with an optional port, such as "
                f"meet.jit.si or 8x8.vc (no scheme, no path), got {self.domain!r}"
            )
        if self.tenant is not None and not _TENANT.fullmatch(self.tenant):
            raise ValueError(
                "VISIO_JITSI_TENANT: one lowercase path segment of letters, digits, '.', '_' "
                f"or '-', got {self.tenant!r}"
            )
        for name in ("not_before_margin", "expiry_margin", "early_join"):
            if getattr(self, name) < timedelta(0):
                raise ValueError(f"JitsiConfig.{name}: must not be negative")

        if self.app_secret is not None and self.private_key_pem is not None:
            raise ValueError(
                "VISIO_JITSI_APP_SECRET: set either it (self-hosted Jitsi, HS256) or "
                "VISIO_JITSI_PRIVATE_KEY_FILE (JaaS, RS256), not both"
            )
        if self.private_key_pem is not None:
            self._check_rs256()
        elif self.kid is not None:
            raise ValueError("VISIO_JITSI_KID: only used with VISIO_JITSI_PRIVATE_KEY_FILE")
        elif self.app_secret is not None and self.app_id is None:
            raise ValueError("VISIO_JITSI_APP_ID: required with VISIO_JITSI_APP_SECRET")
        elif self.app_id is not None and self.app_secret is None:
            # Otherwise a forgotten secret would silently fall back to unprotected links.
            raise ValueError("VISIO_JITSI_APP_SECRET: required with VISIO_JITSI_APP_ID")
        elif self.app_secret is not None and len(self.app_secret.encode()) < MIN_APP_SECRET_BYTES:
            raise ValueError(
                f"VISIO_JITSI_APP_SECRET: must be at least {MIN_APP_SECRET_BYTES} bytes long "
                "(RFC 7518 §3.2); set the same longer secret in Prosody's app_secret"
            )

    def _check_rs256(self) -> None:
        assert self.private_key_pem is not None
        if self.kid is None:
            raise ValueError("VISIO_JITSI_KID: required with VISIO_JITSI_PRIVATE_KEY_FILE")
        if self.tenant is None and self.app_id is None:
            raise ValueError(
                "VISIO_JITSI_TENANT: required with VISIO_JITSI_PRIVATE_KEY_FILE: the JaaS "
                "AppID (vpaas-magic-cookie-…)"
            )
        if self.tenant is not None and self.app_id is not None and self.tenant != self.app_id:
            raise ValueError(
                "VISIO_JITSI_APP_ID: with JaaS it names the AppID, like VISIO_JITSI_TENANT, "
                f"but they differ ({self.app_id!r} and {self.tenant!r}); keep only one"
            )
        app_id = self.tenant or self.app_id
        if app_id is not None and not _TENANT.fullmatch(app_id):
            raise ValueError(
                f"VISIO_JITSI_APP_ID: the JaaS AppID is one lowercase path segment, got {app_id!r}"
            )
        # JaaS names keys "<AppID>/<key id>"; a key of another AppID would be refused by 8x8
        # at every join, so say so now rather than on the day of the first appointment.
        if "/" in self.kid and self.kid.split("/", 1)[0] != app_id:
            raise ValueError(
                f"VISIO_JITSI_KID: {self.kid!r} belongs to another AppID than {app_id!r}"
            )
        try:
            key = load_pem_private_key(self.private_key_pem.encode(), password=None)
        except (ValueError, TypeError) as error:
            raise ValueError(
                "VISIO_JITSI_PRIVATE_KEY_FILE: not an unencrypted PEM private key "
                f"({type(error).__name__})"
            ) from None
        if not isinstance(key, RSAPrivateKey):
            raise ValueError(
                "VISIO_JITSI_PRIVATE_KEY_FILE: an RSA private key is needed for RS256, "
                f"got {type(key).__name__}"
            )
        if key.key_size < MIN_RSA_KEY_BITS:
            raise ValueError(
                f"VISIO_JITSI_PRIVATE_KEY_FILE: the RSA key has {key.key_size} bits, "
                f"at least {MIN_RSA_KEY_BITS} are needed"
            )
        object.__setattr__(self, "_private_key", key)

    @property
    def mode(self) -> Mode:
        """``"rs256"`` with a private key, ``"hs256"`` with an app secret, else ``"plain"``."""
        if self.private_key_pem is not None:
            return "rs256"
        if self.app_secret is not None:
            return "hs256"
        return "plain"

    @property
    def url_tenant(self) -> str | None:
        """The path segment between domain and room: the tenant, or the JaaS AppID."""
        if self.mode == "rs256":
            return self.tenant or self.app_id
        return self.tenant

    @property
    def issuer(self) -> str | None:
        """The ``iss`` claim: the app id (self-hosted), ``"chat"`` (JaaS), None (plain)."""
        mode = self.mode
        if mode == "rs256":
            return JAAS_ISSUER
        if mode == "hs256":
            return self.app_id
        return None

    @property
    def subject(self) -> str:
        """The ``sub`` claim: the tenant (or JaaS AppID) if any, else the bare host name."""
        return self.url_tenant or self.domain.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class Participant:
    """One side of the call, as Jitsi will display it.

    ``id`` is a technical id such as ``agent-12`` or ``station-3``, never a citizen's
    name; ``name`` is the agent's name or the site's name for the station. A station is
    never a moderator: the constructor refuses it. Whether the participant's link holds a
    token depends on the mode as well (`carries_token`).
    """

    id: str
    name: str
    email: str | None
    moderator: bool
    avatar: str | None = None

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise ValueError("participant id: must not be empty")
        if not self.name.strip():
            raise ValueError("participant name: must not be empty")
        if self.moderator and self.id.startswith("station-"):
            raise ValueError(f"participant {self.id}: a station is never a moderator")

    @classmethod
    def for_agent(
        cls, agent_id: int, name: str, email: str | None, avatar: str | None = None
    ) -> Participant:
        """The partner agent: ``agent-<id>``, moderator of the room."""
        return cls(id=f"agent-{agent_id}", name=name, email=email, moderator=True, avatar=avatar)

    @classmethod
    def for_station(cls, station_id: int, name: str) -> Participant:
        """The visio station where the citizen sits: ``station-<id>``, a guest, no email.

        On a self-hosted Jitsi its link has no token at all (a guest of the anonymous
        domain, waiting for the agent); with JaaS, a token that is not a moderator's.
        """
        return cls(id=f"station-{station_id}", name=name, email=None, moderator=False)


@dataclass(frozen=True, slots=True)
class JoinLink:
    """A link for one side of one appointment; ``jwt`` is None in plain mode and for a
    guest of a self-hosted Jitsi (the station), see `carries_token`."""

    # The token is a bearer credential until it expires: keep it out of repr() and logs.
    url: str = field(repr=False)
    room: str
    jwt: str | None = field(repr=False)
    not_before: datetime
    expires: datetime


def _as_utc(value: datetime, name: str) -> datetime:
    # A naive datetime could be site-local or UTC; guessing would shift a token by hours.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: an aware datetime is needed, got a naive one")
    return value.astimezone(UTC)


def _floor_seconds(value: datetime) -> int:
    return (value - _EPOCH) // _ONE_SECOND


def _ceil_seconds(value: datetime) -> int:
    return -((_EPOCH - value) // _ONE_SECOND)


def join_window(start: datetime, end: datetime, config: JitsiConfig) -> tuple[datetime, datetime]:
    """Return ``(opens_at, closes_at)`` in UTC: when the join button is active.

    ``opens_at = start − early_join`` and ``closes_at = end + expiry_margin``, the moment
    the token expires. Raises ``ValueError`` for naive datetimes or ``end <= start``.
    """
    start_utc, end_utc = _as_utc(start, "start"), _as_utc(end, "end")
    if end_utc <= start_utc:
        raise ValueError(f"end: must be after start ({start_utc} .. {end_utc})")
    return start_utc - config.early_join, end_utc + config.expiry_margin


def join_state(now: datetime, start: datetime, end: datetime, config: JitsiConfig) -> JoinState:
    """Say where ``now`` falls in the join window: before, inside (half-open) or after it."""
    opens_at, closes_at = join_window(start, end, config)
    now_utc = _as_utc(now, "now")
    if now_utc < opens_at:
        return "too_early"
    if now_utc < closes_at:
        return "open"
    return "over"


def carries_token(mode: Mode, participant: Participant) -> bool:
    """Tell whether the participant's link holds a token in this mode.

    - ``plain``: nobody's (the demo);
    - ``hs256``, a self-hosted Jitsi: the moderator's only. Prosody's
      ``mod_muc_wait_for_host`` takes any occupant authenticated by a token for the host:
      a token would let the station open the room before the agent, and be made its owner.
      Without one the station is a guest of the anonymous domain: it waits for the host,
      and a server set up as ``deploy/jitsi/`` says (jicofo's auto-owner off) has nothing
      to make a guest moderator with;
    - ``rs256``, JaaS: everyone's, since JaaS admits no participant without a token; a
      non-moderator's says ``moderator: "false"``.
    """
    if mode == "plain":
        return False
    if mode == "hs256":
        return participant.moderator
    return True


def join_link(
    config: JitsiConfig,
    *,
    room: str,
    start: datetime,
    end: datetime,
    participant: Participant,
    now: datetime,
) -> JoinLink:
    """Build the link one participant uses to join the appointment's room.

    The URL is ``https://domain/[tenant/]room``, plus ``?jwt=<token>`` when the
    participant holds a token (`carries_token`: never in plain mode, the moderator alone
    on a self-hosted Jitsi, everyone with JaaS). The token is valid for this room only,
    from ``not_before`` (``start − early_join − not_before_margin``, floored to the
    second) to ``expires`` (``end + expiry_margin``, rounded up), both returned in UTC
    and identical to its ``nbf`` and ``exp``; a link without a token gives the same two
    instants, those of the other side's token. It makes the participant a moderator only
    if ``participant.moderator``.

    Issuing is allowed at any ``now``: a link fetched too early is simply not yet valid, one
    fetched too late is already expired; `join_state` tells the UI which.

    Raises ``ValueError`` if ``room`` is not a name from `new_room_name` (so no free text
    reaches a URL), if a datetime is naive, or if ``end`` is not after ``start``.
    """
    if not is_room_name(room):
        raise ValueError(f"room: not a visio room name: {room!r}")
    opens_at, closes_at = join_window(start, end, config)
    now_utc = _as_utc(now, "now")
    nbf = _floor_seconds(opens_at - config.not_before_margin)
    exp = _ceil_seconds(closes_at)
    not_before = datetime.fromtimestamp(nbf, UTC)
    expires = datetime.fromtimestamp(exp, UTC)

    tenant = config.url_tenant
    # Room and tenant are validated to [a-z0-9._-]; quoting keeps the URL right regardless.
    segments = (room,) if tenant is None else (tenant, room)
    url = f"https://{config.domain}/" + "/".join(quote(s, safe="") for s in segments)

    mode = config.mode
    if not carries_token(mode, participant):
        return JoinLink(url=url, room=room, jwt=None, not_before=not_before, expires=expires)

    # Jitsi and JaaS require every context.user value to be a string (a number or null
    # throws in Prosody), hence "true"/"false" and absent rather than null fields.
    user: dict[str, str] = {
        "id": participant.id,
        "name": participant.name,
        "moderator": "true" if participant.moderator else "false",
        # Current Prosody (mod_token_affiliation) reads the room role from here.
        "affiliation": "owner" if participant.moderator else "member",
    }
    if participant.email is not None:
        user["email"] = participant.email
    if participant.avatar is not None:
        user["avatar"] = participant.avatar
    claims: dict[str, object] = {
        "aud": AUDIENCE,
        "iss": config.issuer,
        "sub": config.subject,
        "room": room,
        "iat": _floor_seconds(now_utc),
        "nbf": nbf,
        "exp": exp,
        "context": {"user": user, "features": dict(DISABLED_FEATURES)},
        # Read by the older token-moderation Prosody plugins as a boolean.
        "moderator": participant.moderator,
    }
    if mode == "rs256":
        assert config._private_key is not None and config.kid is not None
        token = jwt.encode(
            claims,
            config._private_key,
            algorithm="RS256",
            headers={"typ": "JWT", "kid": config.kid},
        )
    else:
        assert config.app_secret is not None
        token = jwt.encode(claims, config.app_secret, algorithm="HS256", headers={"typ": "JWT"})
    return JoinLink(
        url=f"{url}?{urlencode({'jwt': token})}",
        room=room,
        jwt=token,
        not_before=not_before,
        expires=expires,
    )
