"""Placeholder: filled by its owner."""


def register(router) -> None:
    pass
