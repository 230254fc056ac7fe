"""The SLA domain's in-transaction reactions to ticket events (registered on import)."""

from __future__ import annotations

from frontdesk.core.events import in_transaction
from frontdesk.sla.service.engine import prefetch_clocks, react

in_transaction.subscribe("ticket.*", react)
in_transaction.subscribe("ticket_message.created", react)
in_transaction.prepare_with("ticket", prefetch_clocks)
