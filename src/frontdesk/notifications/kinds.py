"""The kinds of notification the desk sends; preferences are kept per kind and channel."""

from __future__ import annotations

from enum import StrEnum


class NotificationKind(StrEnum):
    TICKET_CREATED = "ticket_created"
    TICKET_ASSIGNED = "ticket_assigned"
    CUSTOMER_REPLIED = "customer_replied"
    AGENT_REPLIED = "agent_replied"
    STATUS_CHANGED = "status_changed"
    MENTIONED = "mentioned"
    ACKNOWLEDGEMENT = "acknowledgement"
    SLA_AT_RISK = "sla_at_risk"
    SLA_BREACHED = "sla_breached"


class NotificationChannel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
