"""The access log: one line per request at INFO, none above that level."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI


async def test_a_request_logs_one_access_line_only_when_info_is_on(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    access = logging.getLogger("frontdesk.access")
    logging.getLogger().addHandler(caplog.handler)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            caplog.set_level(logging.WARNING, logger="frontdesk.access")
            await client.get("/healthz")
            assert [r for r in caplog.records if r.name == "frontdesk.access"] == []

            caplog.set_level(logging.INFO, logger="frontdesk.access")
            await client.get("/healthz")
    finally:
        logging.getLogger().removeHandler(caplog.handler)
        access.setLevel(logging.NOTSET)
    lines = [r for r in caplog.records if r.name == "frontdesk.access"]
    assert len(lines) == 1
    assert lines[0].levelno == logging.INFO
    assert "/healthz" in lines[0].getMessage()
