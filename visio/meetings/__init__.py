"""Meeting links: random room names and Jitsi join links with their tokens (pure core).

No database, no web framework, no clock and no randomness of its own: callers pass
``now`` and a byte source.
"""

from visio.meetings.jitsi import (
    AUDIENCE,
    DISABLED_FEATURES,
    JAAS_ISSUER,
    JitsiConfig,
    JoinLink,
    JoinState,
    Mode,
    Participant,
    carries_token,
    join_link,
    join_state,
    join_window,
)
from visio.meetings.rooms import ROOM_NAME_PATTERN, ROOM_PREFIX, is_room_name, new_room_name

__all__ = [
    "AUDIENCE",
    "DISABLED_FEATURES",
    "JAAS_ISSUER",
    "ROOM_NAME_PATTERN",
    "ROOM_PREFIX",
    "JitsiConfig",
    "JoinLink",
    "JoinState",
    "Mode",
    "Participant",
    "carries_token",
    "is_room_name",
    "join_link",
    "join_state",
    "join_window",
    "new_room_name",
]
