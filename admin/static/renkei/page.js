// The script of every admin page (renkei/layout.html). A file, not inline: the Content-Security-Policy
// (admin/security_headers.py) runs scripts from the site's own files only.

// The tables' scroll boxes (see Reflow in renkei/layout.html): each table of the page sits in one
// (Flask-Admin's lists already do); while the table is wider than its box, the box is a region named by the
// table's caption or the heading before it, and it takes the focus (axe-core: scrollable-region-focusable).
(function () {
  var main = document.getElementById('content');
  if (!main) return;
  var headings = main.querySelectorAll('h1, h2, h3, h4, h5, h6, legend');
  function nameOf(table) {
    if (table.caption && table.caption.textContent.trim()) return table.caption.textContent.trim();
    if (table.getAttribute('aria-label')) return table.getAttribute('aria-label');
    var before = null;
    for (var i = 0; i < headings.length; i++) {
      if (headings[i].compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING) before = headings[i];
    }
    return (before || document.querySelector('title')).textContent.trim();
  }
  var boxes = [];
  main.querySelectorAll('table').forEach(function (table) {
    var box = table.parentElement;
    if (!box.classList.contains('table-responsive') && !box.classList.contains('table-scroll')) {
      box = document.createElement('div');
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
    }
    box.classList.add('table-scroll');
    boxes.push([box, table]);
  });
  function mark() {
    boxes.forEach(function (pair) {
      var box = pair[0];
      if (box.scrollWidth > box.clientWidth) {
        box.setAttribute('role', 'region');
        box.setAttribute('tabindex', '0');
        box.setAttribute('aria-label', nameOf(pair[1]));
      } else {
        box.removeAttribute('role');
        box.removeAttribute('tabindex');
        box.removeAttribute('aria-label');
      }
    });
  }
  mark();
  window.addEventListener('resize', mark);
})();

// A button marked data-print prints the page (an onclick attribute would not run under the policy).
document.querySelectorAll('button[data-print]').forEach(function (button) {
  button.addEventListener('click', function () { window.print(); });
});

// Flask-Admin's list menu (the current tab, the menus' toggles, the filter items) comes without its inline
// "javascript:" (see admin/security_headers.py): its "#" must not move the page.
document.querySelectorAll('.nav-tabs a[href="#"]').forEach(function (link) {
  link.addEventListener('click', function (event) { event.preventDefault(); });
});
