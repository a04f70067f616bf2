"""Setting visio up: sites, stations, closures, partners, motives, agents, permanences, absences.

Administrators only (a partner's or a department's IT scripts these through the API).
Each function checks what the request models cannot (references, uniqueness, overlaps),
reports every problem field by field, and writes nothing unless all is well.
"""

from visio.services.setup.agents import (
    RuleSettings,
    absence_view,
    agent_view,
    create_absence,
    create_agent,
    create_rule,
    rule_view,
)
from visio.services.setup.common import KEEP, Keep, require_admin
from visio.services.setup.partners import (
    MotiveSettings,
    create_motive,
    create_partner,
    list_partners,
    motive_view,
    partner_view,
)
from visio.services.setup.sites import (
    OpeningRange,
    SiteChanges,
    change_site,
    change_station,
    closure_view,
    create_closure,
    create_site,
    create_station,
    delete_closure,
    delete_site,
    delete_station,
    find_sites,
    get_site,
    list_closures,
    list_sites,
    site_view,
)

__all__ = [
    "KEEP",
    "Keep",
    "MotiveSettings",
    "OpeningRange",
    "RuleSettings",
    "SiteChanges",
    "absence_view",
    "agent_view",
    "change_site",
    "change_station",
    "closure_view",
    "create_absence",
    "create_agent",
    "create_closure",
    "create_motive",
    "create_partner",
    "create_rule",
    "create_site",
    "create_station",
    "delete_closure",
    "delete_site",
    "delete_station",
    "find_sites",
    "get_site",
    "list_closures",
    "list_partners",
    "list_sites",
    "motive_view",
    "partner_view",
    "require_admin",
    "rule_view",
    "site_view",
]
