"""What renewals adds to the frames of other apps: navigation and the home panel.
Entries whose URL does not resolve are left out, so they may precede their pages."""

from __future__ import annotations


def register_all() -> None:
    pass
