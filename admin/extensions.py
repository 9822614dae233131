"""Module-level extension objects, bound to the app in :func:`admin.create_app`."""

from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from sqlmodel import SQLModel

import core.db  # noqa: F401  (the naming convention is set before models import)

db = SQLAlchemy(metadata=SQLModel.metadata)
babel = Babel()
