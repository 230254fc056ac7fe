"""Who may do what: the one table every route consults (DESIGN.md §4)."""

from __future__ import annotations

from enum import StrEnum

from frontdesk.core.errors import Forbidden


class Role(StrEnum):
    """A principal's standing in one tenant: a member's role, or `contact` for a customer."""

    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"
    LIGHT_AGENT = "light_agent"
    CONTACT = "contact"


class Action(StrEnum):
    TENANT_READ = "tenant.read"
    TENANT_UPDATE = "tenant.update"
    AUDIT_READ = "audit.read"
    MEMBER_READ = "member.read"
    MEMBER_MANAGE = "member.manage"
    GROUP_READ = "group.read"
    GROUP_MANAGE = "group.manage"
    CONTACT_READ = "contact.read"
    CONTACT_WRITE = "contact.write"
    CONTACT_DELETE = "contact.delete"
    ORGANIZATION_READ = "organization.read"
    ORGANIZATION_WRITE = "organization.write"
    ORGANIZATION_DELETE = "organization.delete"
    TOKEN_OWN = "token.own"
    TOKEN_MANAGE_ALL = "token.manage_all"
    STATUS_READ = "status.read"
    STATUS_MANAGE = "status.manage"
    CATEGORY_READ = "category.read"
    CATEGORY_MANAGE = "category.manage"
    TICKET_READ = "ticket.read"
    TICKET_CREATE = "ticket.create"
    TICKET_INTERNALS_READ = "ticket.internals_read"
    TICKET_UPDATE_OWN = "ticket.update_own"
    TICKET_DELETE = "ticket.delete"
    TICKET_PURGE = "ticket.purge"
    TICKET_BULK = "ticket.bulk"
    TICKET_ASSIGN = "ticket.assign"
    TICKET_SHARE = "ticket.share"
    TICKET_AUDIT_READ = "ticket.audit_read"
    MESSAGE_WRITE = "message.write"
    MESSAGE_REDACT = "message.redact"
    PARTICIPANT_MANAGE = "participant.manage"
    TAG_MANAGE = "tag.manage"
    TAG_READ = "tag.read"
    ATTACHMENT_READ = "attachment.read"
    ATTACHMENT_WRITE = "attachment.write"
    SLA_READ = "sla.read"
    SLA_MANAGE = "sla.manage"
    SLA_REPORT = "sla.report"
    TICKET_SLA_READ = "ticket.sla_read"
    TICKET_SLA_RECOMPUTE = "ticket.sla_recompute"
    CHANNEL_READ = "channel.read"
    CHANNEL_MANAGE = "channel.manage"
    MAIL_LOG_READ = "mail_log.read"
    MAIL_RETRY = "mail.retry"
    NOTIFICATION_OWN = "notification.own"


ADMINS = frozenset({Role.OWNER, Role.ADMIN})
AGENTS = ADMINS | {Role.AGENT}
STAFF = AGENTS | {Role.LIGHT_AGENT}
EVERYONE = STAFF | {Role.CONTACT}

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.TENANT_READ: EVERYONE,
    Action.TENANT_UPDATE: ADMINS,
    Action.AUDIT_READ: ADMINS,
    Action.MEMBER_READ: STAFF,
    Action.MEMBER_MANAGE: ADMINS,
    Action.GROUP_READ: STAFF,
    Action.GROUP_MANAGE: ADMINS,
    Action.CONTACT_READ: STAFF,
    Action.CONTACT_WRITE: AGENTS,
    Action.CONTACT_DELETE: ADMINS,
    Action.ORGANIZATION_READ: STAFF,
    Action.ORGANIZATION_WRITE: AGENTS,
    Action.ORGANIZATION_DELETE: ADMINS,
    Action.TOKEN_OWN: STAFF,
    Action.TOKEN_MANAGE_ALL: ADMINS,
    Action.STATUS_READ: EVERYONE,
    Action.STATUS_MANAGE: ADMINS,
    Action.CATEGORY_READ: EVERYONE,
    Action.CATEGORY_MANAGE: ADMINS,
    # Ticket rows are further limited by visibility (tickets/repository.py).
    Action.TICKET_READ: EVERYONE,
    Action.TICKET_CREATE: EVERYONE - {Role.LIGHT_AGENT},
    Action.TICKET_INTERNALS_READ: STAFF,
    Action.TICKET_UPDATE_OWN: EVERYONE - {Role.LIGHT_AGENT},
    Action.TICKET_DELETE: AGENTS,
    Action.TICKET_PURGE: ADMINS,
    Action.TICKET_BULK: AGENTS,
    Action.TICKET_ASSIGN: AGENTS,
    Action.TICKET_SHARE: AGENTS,
    Action.TICKET_AUDIT_READ: EVERYONE,
    Action.MESSAGE_WRITE: EVERYONE,
    Action.MESSAGE_REDACT: ADMINS,
    Action.PARTICIPANT_MANAGE: AGENTS,
    Action.TAG_MANAGE: AGENTS,
    Action.TAG_READ: STAFF,
    # Further limited in tickets/service/attachments.py: contacts to public, their own
    # messages, light agents to internal notes.
    Action.ATTACHMENT_READ: EVERYONE,
    Action.ATTACHMENT_WRITE: EVERYONE,
    Action.CHANNEL_READ: ADMINS,
    Action.CHANNEL_MANAGE: ADMINS,
    Action.MAIL_LOG_READ: ADMINS,
    Action.MAIL_RETRY: ADMINS,
    # Everyone reads and clears only their own notices (notifications/repository.py).
    Action.NOTIFICATION_OWN: EVERYONE,
    # Calendars, policies and clocks are the desk's internals: staff only, never contacts
    # (a customer sees neither targets nor breaches).
    Action.SLA_READ: STAFF,
    Action.SLA_MANAGE: ADMINS,
    Action.SLA_REPORT: ADMINS,
    Action.TICKET_SLA_READ: STAFF,
    Action.TICKET_SLA_RECOMPUTE: ADMINS,
}


def can(role: Role, action: Action) -> bool:
    return role in PERMISSIONS[action]


def authorize(role: Role, action: Action) -> None:
    if not can(role, action):
        raise Forbidden(f"the {role.value} role may not {action.value}", action=action.value)


def authorize_role_change(actor_role: Role, granted: Role | None, revoked: Role | None) -> None:
    """Only an owner may make or unmake owners; admins manage every other role."""
    authorize(actor_role, Action.MEMBER_MANAGE)
    touches_owner = Role.OWNER in (granted, revoked)
    if touches_owner and actor_role is not Role.OWNER:
        raise Forbidden("only an owner may grant or revoke the owner role")
