"""The residents' portal's one blueprint (``/portal``): its door (admin/portal/door.py), the services pages
(admin/portal/services.py) and the records pages (admin/portal/records.py) all add their routes to it, so that
none of them imports another to reach it."""

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/portal")
