"""Identity: people and their roles in Keycloak (``keycloak.py`` is the only python-keycloak user),
token validation, and the operations a municipal admin uses to manage their own people."""
