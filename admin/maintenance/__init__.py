"""Whole-system maintenance: backup archives, restore, and the integrity check (``renkei backup``,
``renkei restore``, ``renkei check``). The domain checks live in their domains
(:mod:`billing.integrity`, :mod:`governance.integrity`); this package puts them together with the
database tools and Keycloak."""
