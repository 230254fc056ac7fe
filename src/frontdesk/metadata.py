"""Every table, for Alembic and the schema tests: importing the domains' models registers them."""

from frontdesk.core import audit, events, idempotency
from frontdesk.core.db import Base
from frontdesk.email import models as email_models
from frontdesk.identity import models as identity_models
from frontdesk.notifications import models as notification_models
from frontdesk.sla import models as sla_models
from frontdesk.tenancy import models as tenancy_models
from frontdesk.tickets import models as ticket_models
from frontdesk.web.portal import models as portal_models

metadata = Base.metadata

__all__ = [
    "audit",
    "email_models",
    "events",
    "idempotency",
    "identity_models",
    "metadata",
    "notification_models",
    "portal_models",
    "sla_models",
    "tenancy_models",
    "ticket_models",
]
