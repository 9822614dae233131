"""Paging of the API's lists: the bounds of a page number and of a page's size, stated once.

``page`` x ``per_page`` stays an OFFSET that PostgreSQL's integer holds (``MAX_PAGE`` x
``MAX_PER_PAGE`` < 2^31; a larger one was a 500 on PostgreSQL, issue 14). Each list chooses its
default page size; the bounds are the same for every list.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from admin.api import MAX_PAGE

MAX_PER_PAGE = 1_000

#: ``?page=``: 1 = the first page.
PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE)]
#: ``?per_page=``: rows on a page.
PerPage = Annotated[int, Field(ge=1, le=MAX_PER_PAGE)]
