"""Frontdesk: a multi-tenant helpdesk service."""

__version__ = "0.1.0"
