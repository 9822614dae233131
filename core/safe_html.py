"""HTML made from people's text, safe to put in a page: the one sanitiser of renkei.

Every piece of HTML built from content (an agreement's Markdown today) passes through
:func:`clean` before it reaches a page. It is nh3 (the Python binding of ammonia, an HTML5 parser
and allow-list sanitiser): it parses the HTML as a browser does, decodes entities before it reads a
URL (so ``javascript&#58;`` and ``jav&#x09;ascript:`` are the ``javascript:`` they are), and keeps only

* the tags of :data:`TAGS` (what Markdown writes: text, lists, tables, headings, links, code),
* the attributes of :data:`ATTRIBUTES` (never an ``on*`` handler or ``style``),
* URLs with a scheme of :data:`URL_SCHEMES` (http, https, mailto) or none (a link within the site
  or the page); any other link loses its ``href``.

Comments and every other tag (``script``, ``iframe``, ``object``, ``svg``, ``style``, ``img``...)
are dropped; the text of a dropped ``script`` or ``style`` goes with it.
"""

from __future__ import annotations

import markdown as markdown_lib
import nh3
from markdown.extensions import Extension

TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd",
    "blockquote", "pre", "code", "em", "strong", "b", "i", "s", "del", "ins", "sub", "sup", "a",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "div", "span",
})
ATTRIBUTES = {
    "a": {"href", "title"},
    "th": {"align"}, "td": {"align"},
    "ol": {"start"},
    "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},  # the toc's anchors
    "div": {"class"}, "span": {"class"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def clean(html: str) -> str:
    """``html`` with only the allowed tags, attributes and URL schemes left (see the module)."""
    return nh3.clean(html or "", tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), strip_comments=True, link_rel="noopener noreferrer")


def markdown(text: str) -> str:
    """Markdown to clean HTML for display. Any HTML typed in the text is shown as text (escaped by
    the Markdown step), and the result passes :func:`clean`. Headings start at level 2
    (``# 第1条`` is an ``<h2>``): the page's own title is its one ``<h1>``."""
    html = markdown_lib.markdown(text or "", extensions=[_NoRawHtml(), "tables", "sane_lists", "toc"],
                                 extension_configs={"toc": {"baselevel": 2},
                                                    "tables": {"use_align_attribute": True}}, output_format="html")
    return clean(html)


class _NoRawHtml(Extension):
    """Raw HTML in the text is shown as text (the sanitiser would drop it; text is what was meant)."""

    def extendMarkdown(self, md):  # noqa: N802  (Markdown's API)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
