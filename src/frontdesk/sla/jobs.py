"""The SLA sweep, run by the worker."""

from __future__ import annotations

from frontdesk.core.jobs import JobContext, periodic
from frontdesk.sla.service.sweep import sweep

SWEEP_EVERY_SECONDS = 15.0


@periodic("sla.sweep", every_seconds=SWEEP_EVERY_SECONDS)
async def sla_sweep(context: JobContext) -> int:
    """Announce at-risk and breached SLA clocks; a full batch means more are waiting."""
    return await sweep(context.sessionmaker)
