"""Running renkei, below the web and command shell: backup archives and restore, the whole-system
integrity check, signed checkpoints' places, PostgreSQL's roles (the owner and the application's
least-privileged role), and a local Keycloak without Docker (its distribution, Java, start and
stop) for development, the demo and the tests (``renkei backup``, ``restore``, ``check``,
``signing``, ``keycloak``).

The domain checks live in their domains (:mod:`billing.integrity`, :mod:`governance.integrity`,
:mod:`usage.integrity`); this package puts them together with the database tools and
Keycloak. It imports no web framework and nothing of :mod:`admin`: the shell hands in the
application's configuration (a mapping) where a setting is needed."""
