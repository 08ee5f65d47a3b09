"""Models arrive with this app's own issue (DESIGN section 6)."""
