"""What schemathesis is told beside the OpenAPI document (loaded by test_api_fuzz.py).

A request valid by the document may still be refused with 422 for a rule a JSON schema
cannot state: one field against another (an end before its start, `agent=any` with an
`agent_id`, a desk account without a house, `theme_id` unless `kind`), or against the
records held (a name already used, an unknown citizen). The run lets positive requests
get 422 (the configuration), and this check makes sure a 422 is one of those rules and
nothing else: a single field refused though the document allows it still fails.
"""

from __future__ import annotations

import json

import schemathesis
from schemathesis import CheckContext, Response
from schemathesis.generation.case import Case

# The English messages of the rules across fields or records (the run asks for English),
# or how they start.
RULES_ACROSS_FIELDS = tuple(
    [
        "The end must come after the start.",
        "Must not come before the start of the range.",
        "valid_until must not come before valid_from.",
        "The range may span at most 62 days.",
        "A period covers at most 20 years.",
        "Either agent=any or an agent_id, not both.",
        "Desk and coordinator accounts need at least one site.",
        "Only agent accounts are linked to an agent.",
        "Only desk and coordinator accounts are scoped to sites.",
        "An agent account must be linked to an agent.",
        "Required.",
        "The last day must not come before the first.",
        "An absence may last at most a year: enter a longer one in parts.",
        # Ids of the body naming records that are not there (unknown, or out of scope).
        "Unknown citizen.",
        "Unknown partner.",
        "Unknown site: ",
        "No such partner.",
        "Not a station of this site.",
        "Not a motive of this agent's partner: ",
        "Unknown agent.",
        "This agent already has an account.",
        "This agent works for another partner.",
        "This theme is no longer in use.",
        "This absence is already over.",
        # The caller's own account.
        "You cannot disable your own account.",
        "You cannot take away your own administration rights.",
        "No such theme.",
        "Already used.",
        "Already used by another account.",
    ]
)


@schemathesis.check
def refused_only_for_rules_across_fields(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    error = json.loads(response.content)["error"]
    if error["code"] == "already_exists":
        return None
    unexpected = {
        field: message
        for field, message in error["fields"].items()
        if not message.startswith(RULES_ACROSS_FIELDS)
    }
    if unexpected:
        raise AssertionError(f"A request valid by the document was refused: {unexpected}")
    return None
