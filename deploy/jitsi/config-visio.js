// The keys visio needs in Jitsi Meet's config.js, on a self-hosted Jitsi set up with
// prosody-visio.cfg.lua. Set them in /etc/jitsi/meet/meet.example.org-config.js (inside
// its `var config = { ... }`, the rest of that file as the installer wrote it), with the
// Jitsi host name in place of meet.example.org. deploy/jitsi/README.md explains them.
var config = {
    hosts: {
        // The main domain: a browser whose link holds a token (the partner agent) signs in
        // here with it.
        domain: 'meet.example.org',
        // The guest domain: a browser with no token (the visio station) signs in here
        // instead, without a name or password, and waits for the host.
        anonymousdomain: 'guest.meet.example.org',
        // The conference component.
        muc: 'conference.meet.example.org',
    },
    lobby: {
        // When the agent has turned the lobby on, a guest knocks without pressing a button:
        // the station's screen has nobody to press it.
        autoKnock: true,
    },
    // No "invite" or "share the link" in the meeting: a room's name is only given by visio,
    // to the desk and the agent.
    disableInviteFunctions: true,
    // The browser keeps no list of recent rooms (the station is a shared screen).
    doNotStoreRoom: true,
};
