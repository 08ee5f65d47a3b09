"""The channels REST API (issue #20): channels and their delivery log, for administrators."""
