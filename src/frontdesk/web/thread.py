"""A ticket's conversation as a page shows it: messages, their authors and their files.

Console and portal share it; what the viewer may see is decided by the tickets domain
(`visible_messages`, `visible_attachments`), so a customer's thread has no internal notes and no
staff-only files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from frontdesk.identity.context import TenantContext
from frontdesk.tickets.models import Ticket, TicketMessage
from frontdesk.tickets.schemas import AttachmentPublic
from frontdesk.tickets.service import attachments, messages
from frontdesk.web.console.names import contact_names, user_names

PREVIEWABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(frozen=True)
class FileView:
    file: AttachmentPublic
    url: str

    @property
    def is_image(self) -> bool:
        return self.file.content_type in PREVIEWABLE and self.file.scan_status != "infected"


@dataclass
class Entry:
    message: TicketMessage
    author: str
    files: list[FileView] = field(default_factory=list)


@dataclass(frozen=True)
class Thread:
    entries: list[Entry]
    #: Files on the ticket itself, not on a message.
    ticket_files: list[FileView]


def file_url(ctx: TenantContext, ticket_id: UUID, attachment_id: UUID) -> str:
    return (
        f"/api/v1/tenants/{ctx.tenant.slug}/tickets/{ticket_id}/attachments/{attachment_id}/content"
    )


async def load_thread(ctx: TenantContext, ticket: Ticket) -> Thread:
    """The thread, oldest first, in four queries."""
    found = list(
        await ctx.session.scalars(
            messages.visible_messages(ctx, ticket).order_by(
                TicketMessage.created_at, TicketMessage.id
            )
        )
    )
    contacts = await contact_names(ctx.session, ctx.tenant_id, [m.author_contact_id for m in found])
    users = await user_names(ctx.session, [m.author_user_id for m in found])
    entries = {m.id: Entry(m, _author(m, contacts, users)) for m in found}
    ticket_files: list[FileView] = []
    for item in await attachments.list_attachments(ctx, ticket):
        view = FileView(attachments.public(item), file_url(ctx, ticket.id, item.attachment.id))
        message_id = item.attachment.message_id
        if message_id is not None and message_id in entries:
            entries[message_id].files.append(view)
        elif message_id is None:
            ticket_files.append(view)
    return Thread(list(entries.values()), ticket_files)


def _author(message: TicketMessage, contacts: dict[UUID, str], users: dict[UUID, str]) -> str:
    if message.author_contact_id is not None:
        return contacts.get(message.author_contact_id, "Customer")
    if message.author_user_id is not None:
        return users.get(message.author_user_id, "Agent")
    return message.author_type.capitalize()
