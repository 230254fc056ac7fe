"""The email channel form: posted fields into the service's shapes, a channel back into fields.

The IMAP password is write-only: it is never put back into a form, and an empty password
field on an edit keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from frontdesk.email.models import ChannelMode
from frontdesk.email.schemas import ChannelPublic
from frontdesk.web import forms

FLAGS = ("is_active", "auto_acknowledge", "add_cc_participants")


def _imap(form: FormData) -> dict[str, Any]:
    port = forms.integer(form, "imap_port")
    return {
        "host": forms.text(form, "imap_host", max_length=253),
        "port": 993 if port is None else port,
        "security": forms.text(form, "imap_security", max_length=20) or "tls",
        "user": forms.text(form, "imap_user", max_length=320),
        "password": forms.text(form, "imap_password", max_length=500) or None,
        "folder": forms.text(form, "imap_folder", max_length=200) or "INBOX",
    }


def _defaults(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": forms.text(form, "name", required=True, max_length=200),
        "address": forms.text(form, "address", required=True, max_length=320),
        "default_group_id": forms.optional_uuid(form, "default_group_id"),
        "default_priority": forms.text(form, "default_priority", max_length=20) or "normal",
        "default_type": forms.text(form, "default_type", max_length=20) or "question",
        "default_status": forms.text(form, "default_status", max_length=60) or None,
        "non_participant_policy": forms.text(form, "non_participant_policy", max_length=20)
        or "new_ticket",
    }
    for flag in FLAGS:
        values[flag] = form.get(flag) == "on"
    return values


def create_values(form: FormData) -> dict[str, Any]:
    """A new email channel: IMAP with its settings, or push (whose URL the service makes)."""
    mode = forms.text(form, "mode", required=True, max_length=10)
    values = _defaults(form) | {"kind": "email", "mode": mode}
    if mode == ChannelMode.IMAP.value:
        values["imap"] = _imap(form)
    return values


def update_values(form: FormData, current: dict[str, Any]) -> dict[str, Any]:
    """The channel's editable view with the form's fields over it (the mode does not change)."""
    values = current | _defaults(form)
    if current.get("imap") is not None:
        keep = {"processed_folder": current["imap"].get("processed_folder")}
        values["imap"] = keep | _imap(form)
    return values


def channel_form(channel: ChannelPublic) -> dict[str, str]:
    """A stored channel as the form's fields, without any secret."""
    values = {
        "name": channel.name,
        "address": channel.address or "",
        "mode": channel.mode or "",
        "default_group_id": str(channel.default_group_id or ""),
        "default_priority": channel.default_priority,
        "default_type": channel.default_type,
        "default_status": channel.default_status or "",
        "non_participant_policy": channel.non_participant_policy,
    }
    for flag in FLAGS:
        if getattr(channel, flag):
            values[flag] = "on"
    if channel.imap is not None:
        values |= {
            "imap_host": channel.imap.host,
            "imap_port": str(channel.imap.port),
            "imap_security": channel.imap.security,
            "imap_user": channel.imap.user,
            "imap_folder": channel.imap.folder,
        }
    return values


def new_channel_form() -> dict[str, str]:
    values = {"mode": "imap", "imap_port": "993", "imap_security": "tls", "imap_folder": "INBOX"}
    return values | dict.fromkeys(FLAGS, "on")


def without_secrets(form: FormData) -> dict[str, str]:
    """The posted fields to show a refused form again: never the password typed."""
    return {
        name: value
        for name, value in form.multi_items()
        if isinstance(value, str) and name != "imap_password"
    }
