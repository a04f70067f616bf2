-- Prosody for a self-hosted Jitsi Meet that takes visio's tokens.
--
-- Made for the Debian packages jitsi-meet and jitsi-meet-tokens (Prosody 0.12): copy it to
-- /etc/prosody/conf.avail/meet.example.org.cfg.lua (the file the installer wrote, which
-- /etc/prosody/conf.d/ links to), then replace
--   meet.example.org          by the Jitsi host name, the value of VISIO_JITSI_DOMAIN;
--   __VISIO_JITSI_APP_SECRET__ by the value of VISIO_JITSI_APP_SECRET (32 bytes at least);
--   __TURN_SECRET__ and focusUser by what the installer wrote in the file you replace.
-- deploy/jitsi/README.md says why it is made this way, what it does not protect, and how
-- to check it once running.
--
-- The design in four lines: the partner agent's link holds a token (moderator, owner);
-- the station's holds none, so it signs in on the guest domain below. Nobody can hold a
-- meeting before the agent is there: the guest waits ("waiting for the host") and walks
-- in when the agent arrives. Only a token makes a moderator, and only visio signs tokens.

-- Jitsi's own Prosody modules (token auth, lobby, wait for host) live here.
plugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }

-- The main domain. Jitsi's modules derive the other components' names from it: the
-- wait-for-host module looks for "lobby.<this>", the token checks for "conference.<this>".
muc_mapper_domain_base = "meet.example.org"

-- TURN relay for participants behind strict firewalls, as the installer wrote it.
external_service_secret = "__TURN_SECRET__"
external_services = {
    { type = "stun", host = "meet.example.org", port = 3478 },
    { type = "turn", host = "meet.example.org", port = 3478, transport = "udp", secret = true, ttl = 86400, algorithm = "turn" },
    { type = "turns", host = "meet.example.org", port = 5349, transport = "tcp", secret = true, ttl = 86400, algorithm = "turn" },
}

-- Browsers reach Prosody through nginx (BOSH and WebSocket) on the same origin only.
cross_domain_bosh = false
consider_bosh_secure = true

-- Jicofo and the videobridge are not rate-limited.
unlimited_jids = {
    "focusUser@auth.meet.example.org",
    "jvb@auth.meet.example.org",
}

-- The main domain: only visio's tokens sign in here.
VirtualHost "meet.example.org"
    -- JWT authentication (mod_auth_token, from jitsi-meet-tokens).
    authentication = "token"
    -- The token's "iss" must be this: the same value as VISIO_JITSI_APP_ID.
    app_id = "visio"
    -- The HS256 key visio signs with: the same value as VISIO_JITSI_APP_SECRET.
    app_secret = "__VISIO_JITSI_APP_SECRET__"
    -- No token, no sign-in here: a browser without one goes to the guest domain instead.
    allow_empty_token = false
    -- This host's certificate, as the installer made it.
    ssl = {
        key = "/etc/prosody/certs/meet.example.org.key";
        certificate = "/etc/prosody/certs/meet.example.org.crt";
    }
    modules_enabled = {
        "bosh";               -- XMPP over HTTP, for older browsers
        "websocket";          -- XMPP over WebSocket, what jitsi-meet uses first
        "smacks";             -- stream management: a flaky network does not drop the call
        "ping";               -- keep-alive
        "external_services";  -- hands the TURN servers above to the browsers
        "muc_lobby_rooms";    -- the lobby: the room where a guest waits to be let in
        "room_destroy";       -- ends a room the way the persistent lobby can veto
        "persistent_lobby";   -- keeps the waiting lobby while the room itself is empty
    }
    -- The lobby's two rooms: where a guest waits, and the conference it waits to enter.
    main_muc = "conference.meet.example.org"
    lobby_muc = "lobby.meet.example.org"
    -- Encryption ends at nginx, which speaks to Prosody on loopback.
    c2s_require_encryption = false

-- The guest domain: a browser with no token (the visio station) signs in here, nameless.
-- Internal to Jitsi: no DNS record, no certificate, no web server entry for it.
VirtualHost "guest.meet.example.org"
    -- Anyone may sign in; nothing here can create a room on its own or be made moderator.
    authentication = "jitsi-anonymous"
    c2s_require_encryption = false

-- The conferences themselves.
Component "conference.meet.example.org" "muc"
    -- Rooms are created through jicofo (an admin below), never by a participant directly.
    restrict_room_creation = true
    -- Nothing of a meeting is kept once it is over.
    storage = "memory"
    modules_enabled = {
        "muc_meeting_id";      -- a meeting id per conference, for jicofo and the logs
        "muc_domain_mapper";   -- tenants (https://meet.example.org/<tenant>/<room>)
        -- A token is for one room only: its "room" claim must name the room joined; a guest
        -- (no token) passes, which is what lets the station in.
        "token_verification";
        -- The token's context.user says who is moderator: "moderator": "true" or
        -- "affiliation": "owner" makes the room's owner (the agent), any other token a
        -- plain member. Recent jitsi-meet packages ship it; with an older one, copy
        -- jitsi-contrib's prosody-plugins/token_affiliation into the plugin path above.
        "token_affiliation";
        -- Until someone with a token is in, everyone else waits in the lobby ("waiting
        -- for the host"); when the agent arrives the lobby is lifted and they walk in. It
        -- counts any token as the host's: that is why the station holds none.
        "muc_wait_for_host";
    }
    -- Jicofo may create rooms and join them first.
    admins = { "focusUser@auth.meet.example.org" }
    -- A guest cannot change the room's settings (make itself moderator, lift a lobby, set
    -- a password): those requests need a token.
    token_verification_require_token_for_moderation = true
    muc_room_locking = false
    muc_room_default_public_jids = true

-- Where guests wait: for the host, or to be let in once the agent has turned the lobby on.
Component "lobby.meet.example.org" "muc"
    storage = "memory"
    restrict_room_creation = true
    muc_room_locking = false
    muc_room_default_public_jids = true

-- The room where jicofo and the videobridges find each other.
Component "internal.auth.meet.example.org" "muc"
    storage = "memory"
    modules_enabled = {
        "ping";
    }
    admins = { "focusUser@auth.meet.example.org", "jvb@auth.meet.example.org" }
    muc_room_locking = false
    muc_room_default_public_jids = true

-- The accounts of jicofo and the videobridge (passwords set by the installer).
VirtualHost "auth.meet.example.org"
    modules_enabled = {
        "limits_exception";
    }
    authentication = "internal_hashed"

-- Jicofo's address for the browsers, without it being a component itself.
Component "focus.meet.example.org" "client_proxy"
    target_address = "focusUser@auth.meet.example.org"
