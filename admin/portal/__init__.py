"""The residents' portal's web side (``/portal``, issue 42): its one blueprint (blueprint.py), its door and sign-in
(door.py), the resident's session (session.py), and the pages of services and consents (services.py), records
(records.py) and questions (inquiries.py), each adding its routes to the one blueprint."""
