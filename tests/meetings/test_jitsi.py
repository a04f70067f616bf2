"""Jitsi join links: tokens decoded with PyJWT and checked claim by claim."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from visio.meetings.jitsi import (
    JitsiConfig,
    JoinLink,
    Participant,
    carries_token,
    join_link,
    join_state,
    join_window,
)
from visio.meetings.rooms import new_room_name

PARIS = ZoneInfo("Europe/Paris")
REUNION = ZoneInfo("Indian/Reunion")

DOMAIN = "visio.example.org"
APP_ID = "visio"
SECRET = "0123456789abcdef-shared-with-prosody"  # 36 bytes: above the HS256 minimum
JAAS_DOMAIN = "8x8.vc"
JAAS_APP = "vpaas-magic-cookie-1fc542a3e4414a44b2611668195e2bfe"
KID = f"{JAAS_APP}/4f4910"


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, password: bytes | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PEM = _pem(RSA_KEY)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

HS256 = JitsiConfig(domain=DOMAIN, app_id=APP_ID, app_secret=SECRET)
RS256 = JitsiConfig(domain=JAAS_DOMAIN, private_key_pem=RSA_PEM, kid=KID, tenant=JAAS_APP)
PLAIN = JitsiConfig(domain="meet.jit.si")

ROOM = new_room_name(lambda n: bytes(range(n)))  # visio-aaaqeayeaudaocajbifqydiob4
AGENT = Participant.for_agent(12, "Claire Martin", "claire.martin@caf.example")
STATION = Participant.for_station(3, "France Services de Murat")

# Monday 30 March 2026, 09:00–09:30 in Murat (CEST, UTC+2): 07:00–07:30 UTC.
START = datetime(2026, 3, 30, 9, 0, tzinfo=PARIS)
END = datetime(2026, 3, 30, 9, 30, tzinfo=PARIS)
NOW = datetime(2026, 3, 30, 6, 50, tzinfo=UTC)  # the agent clicks "join" ten minutes early


def ts(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp())


def verification_key(config: JitsiConfig) -> Any:
    return RSA_KEY.public_key() if config.mode == "rs256" else SECRET


def decode(link: JoinLink, config: JitsiConfig, *, check_times: bool = False) -> dict[str, Any]:
    """Verify the signature, audience and issuer; the clock only when asked.

    Appointments in these tests sit at fixed dates, so checking `nbf`/`exp` against the
    machine's clock would make the result depend on the day the tests run; the time checks
    are done in dedicated tests against appointments placed around the real clock.
    """
    assert link.jwt is not None
    return jwt.decode(
        link.jwt,
        verification_key(config),
        algorithms=["RS256" if config.mode == "rs256" else "HS256"],
        audience="jitsi",
        issuer=config.issuer,
        options={
            "require": ["aud", "iss", "sub", "room", "iat", "nbf", "exp", "context"],
            "verify_exp": check_times,
            "verify_nbf": check_times,
            "verify_iat": check_times,
        },
    )


def link_for(
    config: JitsiConfig,
    participant: Participant,
    *,
    start: datetime = START,
    end: datetime = END,
    now: datetime = NOW,
) -> JoinLink:
    return join_link(config, room=ROOM, start=start, end=end, participant=participant, now=now)


# --- headers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "participant", "expected"),
    [
        # self-hosted Jitsi, agent side: shared secret, no key id (the station has no token)
        (HS256, AGENT, {"alg": "HS256", "typ": "JWT"}),
        # JaaS, agent side: RS256 and the kid of the uploaded public key
        (RS256, AGENT, {"alg": "RS256", "typ": "JWT", "kid": KID}),
        # JaaS, station side: same header
        (RS256, STATION, {"alg": "RS256", "typ": "JWT", "kid": KID}),
    ],
)
def test_token_header(
    config: JitsiConfig, participant: Participant, expected: dict[str, str]
) -> None:
    link = link_for(config, participant)
    assert link.jwt is not None
    assert jwt.get_unverified_header(link.jwt) == expected


# --- claims, one full table per mode and side -------------------------------------------

FEATURES_OFF = {
    "livestreaming": "false",
    "recording": "false",
    "transcription": "false",
    "outbound-call": "false",
    "sip-outbound-call": "false",
}
# 07:00 UTC start − 15 min early join − 10 min skew allowance = 06:35; 07:30 + 30 min = 08:00.
NBF = ts(2026, 3, 30, 6, 35)
EXP = ts(2026, 3, 30, 8, 0)
IAT = ts(2026, 3, 30, 6, 50)
AGENT_USER = {
    "id": "agent-12",
    "name": "Claire Martin",
    "email": "claire.martin@caf.example",
    "moderator": "true",
    "affiliation": "owner",
}
STATION_USER = {
    "id": "station-3",
    "name": "France Services de Murat",
    "moderator": "false",
    "affiliation": "member",
}
WINDOW = {"room": ROOM, "iat": IAT, "nbf": NBF, "exp": EXP, "aud": "jitsi"}


@pytest.mark.parametrize(
    ("config", "participant", "expected"),
    [
        # self-hosted, agent: iss is the app id, sub the bare domain, moderator
        (
            HS256,
            AGENT,
            {
                **WINDOW,
                "iss": APP_ID,
                "sub": DOMAIN,
                "moderator": True,
                "context": {"user": AGENT_USER, "features": FEATURES_OFF},
            },
        ),
        # (self-hosted, station: no token at all, see the tests of who holds one below)
        # JaaS, agent: iss "chat", sub the AppID
        (
            RS256,
            AGENT,
            {
                **WINDOW,
                "iss": "chat",
                "sub": JAAS_APP,
                "moderator": True,
                "context": {"user": AGENT_USER, "features": FEATURES_OFF},
            },
        ),
        # JaaS, station: a token (JaaS wants one from everyone), a guest named after the
        # site, no e-mail at all, never a moderator
        (
            RS256,
            STATION,
            {
                **WINDOW,
                "iss": "chat",
                "sub": JAAS_APP,
                "moderator": False,
                "context": {"user": STATION_USER, "features": FEATURES_OFF},
            },
        ),
    ],
)
def test_claims(config: JitsiConfig, participant: Participant, expected: dict[str, Any]) -> None:
    claims = decode(link_for(config, participant), config)
    assert sorted(claims) == sorted(expected)
    for name, value in expected.items():
        assert claims[name] == value, name


def test_with_jaas_only_the_agent_is_moderator() -> None:
    agent = decode(link_for(RS256, AGENT), RS256)
    station = decode(link_for(RS256, STATION), RS256)
    assert (agent["moderator"], agent["context"]["user"]["moderator"]) == (True, "true")
    assert (station["moderator"], station["context"]["user"]["moderator"]) == (False, "false")
    assert agent["context"]["user"]["affiliation"] == "owner"
    assert station["context"]["user"]["affiliation"] == "member"
    # both sides meet in the same room, within the same window
    assert agent["room"] == station["room"] == ROOM
    assert (agent["nbf"], agent["exp"]) == (station["nbf"], station["exp"])


def test_self_hosted_the_agent_holds_the_only_token_and_it_makes_them_owner() -> None:
    agent_link, station_link = link_for(HS256, AGENT), link_for(HS256, STATION)
    agent = decode(agent_link, HS256)
    assert (agent["moderator"], agent["context"]["user"]["moderator"]) == (True, "true")
    assert agent["context"]["user"]["affiliation"] == "owner"
    # Prosody's wait-for-host takes any token for the host's: the station holds none, so it
    # cannot open the room, nor carry moderator rights; it joins as a guest.
    assert station_link.jwt is None
    assert station_link.url == f"https://{DOMAIN}/{ROOM}"
    assert urlsplit(station_link.url).query == "" and "jwt" not in station_link.url
    # both sides meet in the same room, within the same window
    assert urlsplit(agent_link.url).path == urlsplit(station_link.url).path == f"/{ROOM}"
    assert (agent_link.not_before, agent_link.expires) == (
        station_link.not_before,
        station_link.expires,
    )


# A participant who is not the agent nor a station: on a self-hosted Jitsi, no token either.
OBSERVER = Participant(id="observer-1", name="Relais Cantal", email=None, moderator=False)


@pytest.mark.parametrize(
    ("config", "participant", "token"),
    [
        # the demo: nobody
        (PLAIN, AGENT, False),
        (PLAIN, STATION, False),
        # self-hosted: the moderator only, since any token would be taken for the host's
        (HS256, AGENT, True),
        (HS256, STATION, False),
        (HS256, OBSERVER, False),
        # self-hosted with a tenant: the same rule
        (dataclasses.replace(HS256, tenant="cantal"), AGENT, True),
        (dataclasses.replace(HS256, tenant="cantal"), STATION, False),
        # JaaS: everyone, since JaaS admits nobody without one
        (RS256, AGENT, True),
        (RS256, STATION, True),
        (RS256, OBSERVER, True),
    ],
)
def test_who_holds_a_token(config: JitsiConfig, participant: Participant, token: bool) -> None:
    link = link_for(config, participant)
    assert carries_token(config.mode, participant) is token
    assert (link.jwt is not None) is token
    assert ("?jwt=" in link.url) is token
    if token:
        assert decode(link, config)["moderator"] is participant.moderator


@pytest.mark.parametrize("config", [HS256, RS256])
def test_context_user_values_are_all_strings(config: JitsiConfig) -> None:
    # Prosody throws on a non-string context.user value; JaaS wants "true"/"false".
    with_avatar = dataclasses.replace(AGENT, avatar="https://caf.example/a/12.png")
    holders = [p for p in (with_avatar, STATION) if carries_token(config.mode, p)]
    assert with_avatar in holders
    for participant in holders:
        user = decode(link_for(config, participant), config)["context"]["user"]
        assert user and all(isinstance(value, str) for value in user.values())
    assert decode(link_for(config, with_avatar), config)["context"]["user"]["avatar"] == (
        "https://caf.example/a/12.png"
    )


def test_a_station_cannot_be_made_moderator() -> None:
    with pytest.raises(ValueError, match="never a moderator"):
        Participant(id="station-3", name="Murat", email=None, moderator=True)
    assert Participant.for_station(3, "Murat").moderator is False
    assert Participant.for_agent(12, "Claire Martin", None).moderator is True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # an empty id would make every participant the same one in Jitsi's reports
        ("id", " "),
        # an empty name shows as "Fellow Jitster" in the call
        ("name", ""),
    ],
)
def test_participant_refuses_empty_fields(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"participant {field}"):
        changes: dict[str, Any] = {field: value}
        dataclasses.replace(STATION, **changes)


# --- validity window ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "nbf", "exp"),
    [
        # the reference appointment: 09:00–09:30 Paris summer time
        (START, END, NBF, EXP),
        # a winter appointment, UTC+1: 10:00–10:45 Paris is 09:00–09:45 UTC
        (
            datetime(2026, 1, 12, 10, 0, tzinfo=PARIS),
            datetime(2026, 1, 12, 10, 45, tzinfo=PARIS),
            ts(2026, 1, 12, 8, 35),
            ts(2026, 1, 12, 10, 15),
        ),
        # the morning clocks go forward (29 March 2026): 09:00 CEST is 07:00 UTC, not 08:00
        (
            datetime(2026, 3, 29, 9, 0, tzinfo=PARIS),
            datetime(2026, 3, 29, 9, 20, tzinfo=PARIS),
            ts(2026, 3, 29, 6, 35),
            ts(2026, 3, 29, 7, 50),
        ),
        # an overseas house, UTC+4: 14:00 in Saint-Denis de La Réunion is 10:00 UTC
        (
            datetime(2026, 6, 2, 14, 0, tzinfo=REUNION),
            datetime(2026, 6, 2, 14, 30, tzinfo=REUNION),
            ts(2026, 6, 2, 9, 35),
            ts(2026, 6, 2, 11, 0),
        ),
        # sub-second times: nbf rounds down and exp up, so the window never shrinks
        (
            datetime(2026, 3, 30, 7, 0, 0, 999_999, tzinfo=UTC),
            datetime(2026, 3, 30, 7, 30, 0, 1, tzinfo=UTC),
            ts(2026, 3, 30, 6, 35),
            ts(2026, 3, 30, 8, 0, 1),
        ),
    ],
)
def test_nbf_and_exp(start: datetime, end: datetime, nbf: int, exp: int) -> None:
    link = link_for(HS256, AGENT, start=start, end=end)
    claims = decode(link, HS256)
    assert (claims["nbf"], claims["exp"]) == (nbf, exp)
    # what the API returns is exactly what Jitsi will enforce, in aware UTC
    assert link.not_before == datetime.fromtimestamp(nbf, UTC)
    assert link.expires == datetime.fromtimestamp(exp, UTC)
    assert link.not_before.utcoffset() == link.expires.utcoffset() == timedelta(0)
    # the station's link (no token) and JaaS's station token give the same window
    guest = link_for(HS256, STATION, start=start, end=end)
    assert (guest.not_before, guest.expires) == (link.not_before, link.expires)
    jaas = decode(link_for(RS256, STATION, start=start, end=end), RS256)
    assert (jaas["nbf"], jaas["exp"]) == (nbf, exp)


def test_margins_come_from_the_config() -> None:
    tight = dataclasses.replace(
        HS256,
        not_before_margin=timedelta(0),
        expiry_margin=timedelta(minutes=5),
        early_join=timedelta(0),
    )
    claims = decode(link_for(tight, AGENT), tight)
    assert (claims["nbf"], claims["exp"]) == (ts(2026, 3, 30, 7, 0), ts(2026, 3, 30, 7, 35))


def test_plain_mode_gives_the_same_window_without_token() -> None:
    link = link_for(PLAIN, AGENT)
    assert link.jwt is None
    assert link.url == f"https://meet.jit.si/{ROOM}"
    assert "?" not in link.url and "jwt" not in link.url
    assert (link.not_before, link.expires) == (
        datetime.fromtimestamp(NBF, UTC),
        datetime.fromtimestamp(EXP, UTC),
    )


# Decoding against the real clock: appointments placed around it, PyJWT's own checks.


def wall_clock() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.mark.parametrize("config", [HS256, RS256])
def test_a_token_for_an_appointment_about_to_start_is_valid_now(config: JitsiConfig) -> None:
    now = wall_clock()
    link = link_for(
        config, AGENT, start=now + timedelta(minutes=5), end=now + timedelta(minutes=35), now=now
    )
    assert decode(link, config, check_times=True)["room"] == ROOM


@pytest.mark.parametrize("config", [HS256, RS256])
def test_a_token_is_expired_for_a_later_clock(config: JitsiConfig) -> None:
    # The appointment ended two hours ago: its token expired 1 h 30 ago (end + 30 min).
    now = wall_clock()
    start, end = now - timedelta(hours=2, minutes=30), now - timedelta(hours=2)
    link = link_for(config, AGENT, start=start, end=end, now=start)
    with pytest.raises(jwt.ExpiredSignatureError):
        decode(link, config, check_times=True)
    # a verifier whose clock is 1 h 31 behind still accepts it: exp is exactly end + 30 min
    assert jwt.decode(
        link.jwt or "",
        verification_key(config),
        algorithms=[jwt.get_unverified_header(link.jwt or "")["alg"]],
        audience="jitsi",
        leeway=timedelta(hours=1, minutes=31),
    )


@pytest.mark.parametrize("config", [HS256, RS256])
def test_a_token_is_not_yet_valid_days_before(config: JitsiConfig) -> None:
    now = wall_clock()
    start = now + timedelta(days=2)
    link = link_for(config, AGENT, start=start, end=start + timedelta(minutes=30), now=now)
    with pytest.raises(jwt.ImmatureSignatureError, match="nbf"):
        decode(link, config, check_times=True)


def test_a_token_fetched_as_the_button_opens_survives_clock_skew() -> None:
    # The button opens now (start − early_join). A Jitsi server whose clock is behind ours
    # by less than not_before_margin must still accept the token; more than that, not.
    # A negative leeway is a verifier clock that is behind (iat is not checked by Jitsi).
    now = wall_clock()
    start = now + HS256.early_join
    link = link_for(HS256, AGENT, start=start, end=start + timedelta(minutes=30), now=now)
    assert link.jwt is not None

    def decode_with_clock_behind(behind: timedelta) -> dict[str, Any]:
        return jwt.decode(
            link.jwt or "",
            SECRET,
            algorithms=["HS256"],
            audience="jitsi",
            leeway=-behind,
            options={"verify_iat": False},
        )

    assert decode_with_clock_behind(HS256.not_before_margin - timedelta(seconds=30))
    with pytest.raises(jwt.ImmatureSignatureError, match="nbf"):
        decode_with_clock_behind(HS256.not_before_margin + timedelta(seconds=30))


# --- what a verifier must refuse ---------------------------------------------------------


def test_wrong_secret_fails() -> None:
    link = link_for(HS256, AGENT)
    assert link.jwt is not None
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            link.jwt,
            "another-secret-of-thirty-two-bytes!!",
            algorithms=["HS256"],
            audience="jitsi",
        )


def test_wrong_rsa_key_fails() -> None:
    link = link_for(RS256, AGENT)
    assert link.jwt is not None
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(link.jwt, OTHER_RSA_KEY.public_key(), algorithms=["RS256"], audience="jitsi")


@pytest.mark.parametrize(
    ("config", "algorithms", "audience", "error"),
    [
        # an RS256 token offered to a verifier expecting HS256: algorithm confusion refused
        (RS256, ["HS256"], "jitsi", jwt.InvalidAlgorithmError),
        # an HS256 token offered to an RS256-only verifier
        (HS256, ["RS256"], "jitsi", jwt.InvalidAlgorithmError),
        # another service's audience
        (HS256, ["HS256"], "visio-api", jwt.InvalidAudienceError),
    ],
)
def test_a_verifier_refuses_the_wrong_algorithm_or_audience(
    config: JitsiConfig, algorithms: list[str], audience: str, error: type[Exception]
) -> None:
    link = link_for(config, AGENT)
    assert link.jwt is not None
    with pytest.raises(error):
        jwt.decode(
            link.jwt,
            verification_key(config),
            algorithms=algorithms,
            audience=audience,
            # the appointment sits at a fixed date: only the refusal under test may fire
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )


# --- URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "netloc", "path", "sub"),
    [
        # self-hosted, no tenant: https://domain/room, sub the domain
        (HS256, DOMAIN, f"/{ROOM}", DOMAIN),
        # self-hosted multi-tenant: https://domain/tenant/room, sub the tenant
        (dataclasses.replace(HS256, tenant="cantal"), DOMAIN, f"/cantal/{ROOM}", "cantal"),
        # a port on the domain stays in the URL but not in sub, which names the host
        (
            dataclasses.replace(HS256, domain="jitsi.local:8443"),
            "jitsi.local:8443",
            f"/{ROOM}",
            "jitsi.local",
        ),
        # JaaS with the AppID as tenant
        (RS256, JAAS_DOMAIN, f"/{JAAS_APP}/{ROOM}", JAAS_APP),
        # JaaS with the AppID given as VISIO_JITSI_APP_ID instead of VISIO_JITSI_TENANT
        (
            JitsiConfig(domain=JAAS_DOMAIN, app_id=JAAS_APP, private_key_pem=RSA_PEM, kid=KID),
            JAAS_DOMAIN,
            f"/{JAAS_APP}/{ROOM}",
            JAAS_APP,
        ),
    ],
)
def test_url_and_subject(config: JitsiConfig, netloc: str, path: str, sub: str) -> None:
    link = link_for(config, AGENT)
    parts = urlsplit(link.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", netloc, path)
    assert parse_qs(parts.query, strict_parsing=True) == {"jwt": [link.jwt]}
    assert decode(link, config)["sub"] == sub
    assert link.room == ROOM
    # the station reaches the same room: a bare URL self-hosted, its own token with JaaS
    station = link_for(config, STATION)
    station_parts = urlsplit(station.url)
    assert (station_parts.netloc, station_parts.path) == (netloc, path)
    if config.mode == "hs256":
        assert (station_parts.query, station.jwt) == ("", None)
    else:
        assert parse_qs(station_parts.query, strict_parsing=True) == {"jwt": [station.jwt]}
        assert decode(station, config)["sub"] == sub


def test_rooms_need_no_escaping() -> None:
    # Room names are already URL-safe, so the room in the URL is the room in the token.
    assert quote(ROOM, safe="") == ROOM
    link = link_for(HS256, AGENT)
    assert urlsplit(link.url).path.rsplit("/", 1)[1] == decode(link, HS256)["room"] == ROOM


@pytest.mark.parametrize(
    "room",
    [
        # free text with a citizen's name: must never reach a URL
        "rdv-dupont-jean",
        # path traversal
        "../admin",
        # a valid name in uppercase, which Jitsi would fold into the lowercase room
        ROOM.upper(),
        # empty
        "",
    ],
)
def test_join_link_refuses_anything_but_a_room_name(room: str) -> None:
    with pytest.raises(ValueError, match="room"):
        join_link(HS256, room=room, start=START, end=END, participant=AGENT, now=NOW)


def test_secrets_and_tokens_stay_out_of_repr() -> None:
    link = link_for(HS256, AGENT)
    assert SECRET not in repr(HS256)
    assert "PRIVATE KEY" not in repr(RS256)
    assert link.jwt is not None and link.jwt not in repr(link)


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "mode"),
    [
        # nothing but a domain: the demo's plain links
        (PLAIN, "plain"),
        # app id and secret: self-hosted token auth
        (HS256, "hs256"),
        # private key and kid: JaaS
        (RS256, "rs256"),
    ],
)
def test_mode(config: JitsiConfig, mode: str) -> None:
    assert config.mode == mode


EC_PEM = _pem(ec.generate_private_key(ec.SECP256R1()))
# deliberately too small, to check that it is refused
SMALL_RSA_PEM = _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505
ENCRYPTED_PEM = _pem(RSA_KEY, password=b"passphrase")
JAAS = {"domain": JAAS_DOMAIN, "tenant": JAAS_APP, "kid": KID}


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        # a secret without the app id Prosody checks `iss` against
        ({"domain": DOMAIN, "app_secret": SECRET}, "VISIO_JITSI_APP_ID"),
        # an app id without a secret would silently fall back to unprotected links
        ({"domain": DOMAIN, "app_id": APP_ID}, "VISIO_JITSI_APP_SECRET"),
        # a secret shorter than 32 bytes (RFC 7518 §3.2)
        ({"domain": DOMAIN, "app_id": APP_ID, "app_secret": "short"}, "VISIO_JITSI_APP_SECRET"),
        # both a secret and a private key: ambiguous
        ({**JAAS, "app_secret": SECRET, "private_key_pem": RSA_PEM}, "VISIO_JITSI_APP_SECRET"),
        # a JaaS key without its kid
        (
            {"domain": JAAS_DOMAIN, "tenant": JAAS_APP, "private_key_pem": RSA_PEM},
            "VISIO_JITSI_KID",
        ),
        # a kid without a key
        ({"domain": DOMAIN, "kid": KID}, "VISIO_JITSI_KID"),
        # a JaaS key without the AppID, which is both `sub` and the URL's tenant
        ({"domain": JAAS_DOMAIN, "kid": KID, "private_key_pem": RSA_PEM}, "VISIO_JITSI_TENANT"),
        # a kid that belongs to another JaaS AppID
        (
            {**JAAS, "kid": "vpaas-magic-cookie-other/4f4910", "private_key_pem": RSA_PEM},
            "VISIO_JITSI_KID",
        ),
        # AppID given twice, differently
        (
            {**JAAS, "app_id": "vpaas-magic-cookie-other", "private_key_pem": RSA_PEM},
            "VISIO_JITSI_APP_ID",
        ),
        # a file that is not PEM at all
        ({**JAAS, "private_key_pem": "not a key"}, "VISIO_JITSI_PRIVATE_KEY_FILE"),
        # a truncated PEM
        ({**JAAS, "private_key_pem": RSA_PEM[:200]}, "VISIO_JITSI_PRIVATE_KEY_FILE"),
        # a passphrase-protected key: the service cannot prompt for it
        ({**JAAS, "private_key_pem": ENCRYPTED_PEM}, "VISIO_JITSI_PRIVATE_KEY_FILE"),
        # an EC key where RS256 needs RSA
        ({**JAAS, "private_key_pem": EC_PEM}, "VISIO_JITSI_PRIVATE_KEY_FILE"),
        # a 1024-bit RSA key
        ({**JAAS, "private_key_pem": SMALL_RSA_PEM}, "VISIO_JITSI_PRIVATE_KEY_FILE"),
        # a URL where a host name is expected
        ({"domain": "https://meet.jit.si"}, "VISIO_JITSI_DOMAIN"),
        # a path after the host
        ({"domain": "meet.jit.si/visio"}, "VISIO_JITSI_DOMAIN"),
        # uppercase: Jitsi compares `sub` with the lowercase domain
        ({"domain": "Meet.Jit.Si"}, "VISIO_JITSI_DOMAIN"),
        # empty domain
        ({"domain": ""}, "VISIO_JITSI_DOMAIN"),
        # a tenant with a slash would shift the room in the URL
        ({"domain": DOMAIN, "tenant": "cantal/murat"}, "VISIO_JITSI_TENANT"),
        # an uppercase tenant never matches Jitsi's lowercased `sub`
        ({"domain": DOMAIN, "tenant": "Cantal"}, "VISIO_JITSI_TENANT"),
        # an empty string where "unset" was meant
        ({"domain": DOMAIN, "app_id": "", "app_secret": SECRET}, "VISIO_JITSI_APP_ID"),
        # a negative margin would close the window before the appointment ends
        ({"domain": DOMAIN, "expiry_margin": timedelta(minutes=-1)}, "expiry_margin"),
    ],
)
def test_invalid_config_names_the_setting(settings: dict[str, Any], variable: str) -> None:
    with pytest.raises(ValueError, match=variable):
        JitsiConfig(**settings)


# --- the join window as the UI sees it --------------------------------------------------

# 07:00–07:30 UTC: the button opens at 06:45 and closes at 08:00.
OPENS_AT = datetime(2026, 3, 30, 6, 45, tzinfo=UTC)
CLOSES_AT = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_join_window() -> None:
    assert join_window(START, END, HS256) == (OPENS_AT, CLOSES_AT)


@pytest.mark.parametrize(
    ("now", "state"),
    [
        # the day before
        (datetime(2026, 3, 29, 9, 0, tzinfo=PARIS), "too_early"),
        # one microsecond before the button opens
        (OPENS_AT - timedelta(microseconds=1), "too_early"),
        # the moment it opens, 15 minutes before the start
        (OPENS_AT, "open"),
        # the start, given in Paris time
        (START, "open"),
        # the scheduled end: the session may overrun
        (END, "open"),
        # the last second of the overrun allowance
        (CLOSES_AT - timedelta(seconds=1), "open"),
        # the moment the token expires, the button closes (half-open window)
        (CLOSES_AT, "over"),
        # the next day
        (datetime(2026, 3, 31, 9, 0, tzinfo=PARIS), "over"),
    ],
)
def test_join_state(now: datetime, state: str) -> None:
    assert join_state(now, START, END, HS256) == state


@pytest.mark.parametrize(
    "call",
    [
        # join_link with end == start
        lambda: join_link(HS256, room=ROOM, start=START, end=START, participant=AGENT, now=NOW),
        # join_link with end before start
        lambda: join_link(HS256, room=ROOM, start=END, end=START, participant=AGENT, now=NOW),
        # the same for the window
        lambda: join_window(END, START, HS256),
        # and for the state
        lambda: join_state(NOW, START, START, HS256),
        # plain mode checks it too
        lambda: join_link(PLAIN, room=ROOM, start=END, end=START, participant=AGENT, now=NOW),
    ],
)
def test_end_must_be_after_start(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="end: must be after start"):
        call()


@pytest.mark.parametrize(
    ("start", "end", "now", "name"),
    [
        # a naive start could be Paris time or UTC: refused rather than guessed
        (START.replace(tzinfo=None), END, NOW, "start"),
        # a naive end
        (START, END.replace(tzinfo=None), NOW, "end"),
        # a naive now
        (START, END, NOW.replace(tzinfo=None), "now"),
    ],
)
def test_naive_datetimes_are_refused(
    start: datetime, end: datetime, now: datetime, name: str
) -> None:
    with pytest.raises(ValueError, match=f"^{name}: an aware datetime"):
        join_link(HS256, room=ROOM, start=start, end=end, participant=AGENT, now=now)


# --- properties --------------------------------------------------------------------------

zones = st.sampled_from([UTC, PARIS, REUNION, ZoneInfo("America/Cayenne")])
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=zones
)


@given(
    start=instants,
    duration=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(hours=8)),
    now=instants,
    moderator=st.booleans(),
)
def test_the_token_is_valid_whenever_the_button_is_open(
    start: datetime, duration: timedelta, now: datetime, moderator: bool
) -> None:
    participant = AGENT if moderator else STATION
    # Durations are added in UTC, as the services do: wall-clock addition across a
    # daylight-saving change (or from a time that does not exist) is not a duration.
    end = start.astimezone(UTC) + duration
    link = join_link(HS256, room=ROOM, start=start, end=end, participant=participant, now=now)
    # self-hosted, a token is the moderator's alone: the station's link never holds one
    assert (link.jwt is not None) is moderator
    # JaaS gives the station a token too: the window and the rights are checked on it
    config = HS256 if moderator else RS256
    if not moderator:
        link = join_link(RS256, room=ROOM, start=start, end=end, participant=participant, now=now)
    claims = decode(link, config)
    # the token's window contains the button's window, with the skew allowance before it
    opens_at, closes_at = join_window(start, end, config)
    assert claims["nbf"] <= (opens_at - config.not_before_margin).timestamp() < claims["nbf"] + 1
    assert claims["exp"] - 1 < closes_at.timestamp() <= claims["exp"]
    if join_state(now, start, end, config) == "open":
        assert claims["nbf"] <= now.timestamp() < claims["exp"]
    # moderator rights follow the participant, never anything else
    assert claims["moderator"] is moderator
    assert claims["context"]["user"]["moderator"] == ("true" if moderator else "false")
