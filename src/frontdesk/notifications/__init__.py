"""Notifications: in-app notices to people and their per-kind, per-channel preferences."""
