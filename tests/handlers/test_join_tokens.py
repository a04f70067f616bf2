"""Join links through the API, tokens decoded with PyJWT claim by claim, for the agent and
for the station, on a self-hosted Jitsi and on JaaS.

Self-hosted, the agent's link holds the only token (moderator, owner): the station's has
none and joins as a guest, so it can neither open the room before the agent nor carry
moderator rights (see deploy/jitsi/README.md). JaaS wants a token from everyone: the
station's says it is no moderator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.handlers.conftest import World, book
from visio.settings import Settings

SECRET = "a-jitsi-app-secret-of-at-least-32-bytes!!"
JAAS_APP = "vpaas-magic-cookie-1fc542a3e4414a44b2611668195e2bfe"
KID = f"{JAAS_APP}/4f4910"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
START = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["self-hosted", "jaas"])
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    from tests.conftest import SECRET as KEY

    if request.param == "self-hosted":
        return Settings(
            database_url=database_url,
            secret_key=KEY,
            run_worker=False,
            jitsi_domain="visio-meet.example.org",
            jitsi_app_id="visio",
            jitsi_app_secret=SECRET,
        )
    key_file = tmp_path / "jaas-private.pem"
    key_file.write_bytes(
        RSA_KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Settings(
        database_url=database_url,
        secret_key=KEY,
        run_worker=False,
        jitsi_domain="8x8.vc",
        jitsi_private_key_file=key_file,
        jitsi_kid=KID,
        jitsi_tenant=JAAS_APP,
    )


def claims_of(token: str, settings: Settings) -> dict[str, Any]:
    jaas = settings.jitsi_private_key_file is not None
    decoded: dict[str, Any] = jwt.decode(
        token,
        RSA_KEY.public_key() if jaas else SECRET,
        algorithms=["RS256" if jaas else "HS256"],
        audience="jitsi",
        issuer="chat" if jaas else "visio",
        options={"verify_exp": False, "verify_nbf": False},
    )
    return decoded


async def sides(client: Any, world: World) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    body = await book(client, world)
    path = f"/api/v1/appointments/{body['id']}/join"
    agent = await client.get(path, params={"as": "agent"}, headers=world.agent_headers)
    station = await client.get(path, params={"as": "station"}, headers=world.headers)
    assert (agent.status, station.status) == (200, 200)
    return body, await agent.json(), await station.json()


async def test_the_agent_token_makes_the_agent_moderator_and_owner(
    client: Any, world: World, settings: Settings
) -> None:
    body, agent, _ = await sides(client, world)
    jaas = settings.jitsi_private_key_file is not None
    room_path = f"/{JAAS_APP}/{body['room']}" if jaas else f"/{body['room']}"
    parts = urlsplit(agent["url"])
    assert (parts.netloc, parts.path, parts.query) == (
        settings.jitsi_domain,
        room_path,
        f"jwt={agent['jwt']}",
    )
    header = jwt.get_unverified_header(agent["jwt"])
    assert header == ({"alg": "RS256", "typ": "JWT", "kid": KID} if jaas else {
        "alg": "HS256", "typ": "JWT"
    })  # fmt: skip
    claims = claims_of(agent["jwt"], settings)
    assert claims["sub"] == (JAAS_APP if jaas else "visio-meet.example.org")
    assert claims["room"] == body["room"]
    assert claims["moderator"] is True
    user = claims["context"]["user"]
    assert (user["moderator"], user["affiliation"]) == ("true", "owner")
    assert user["name"] == "Isabelle Delmas"
    assert user["email"] == "isabelle.delmas@caf.example"
    assert all(isinstance(v, str) for v in user.values())
    assert claims["nbf"] < START.timestamp() < claims["exp"]
    assert claims["exp"] >= (START + timedelta(minutes=30)).timestamp()
    assert "Chassang" not in str(claims)


async def test_the_station_never_holds_moderator_rights(
    client: Any, world: World, settings: Settings
) -> None:
    body, agent, station = await sides(client, world)
    # both sides meet in the same room, within the same window
    assert station["room"] == agent["room"] == body["room"]
    assert (station["not_before"], station["expires"]) == (agent["not_before"], agent["expires"])
    assert urlsplit(station["url"]).path == urlsplit(agent["url"]).path
    assert "Chassang" not in station["url"]
    if settings.jitsi_private_key_file is None:
        # Self-hosted: no token at all, a guest of the anonymous domain, which waits for
        # the agent and which nothing makes a moderator.
        assert station["jwt"] is None
        assert station["url"] == f"https://visio-meet.example.org/{body['room']}"
        return
    # JaaS: a token, as JaaS wants from everyone, that says it is no moderator.
    assert station["url"] == f"https://8x8.vc/{JAAS_APP}/{body['room']}?jwt={station['jwt']}"
    claims = claims_of(station["jwt"], settings)
    assert claims["moderator"] is False
    user = claims["context"]["user"]
    assert (user["moderator"], user["affiliation"]) == ("false", "member")
    assert user["name"] == "France Services Murat"
    assert "email" not in user
    assert "Chassang" not in station["jwt"] and "Chassang" not in str(claims)
