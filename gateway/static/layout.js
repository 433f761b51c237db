/* Layout on every page (a file, not an inline script: the Content-Security-Policy allows scripts from /static only).
   Without script every page still works: the menu stays open and tables keep their header row hidden on phones
   only where the template labelled its cells. */
(function () {
  "use strict";
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  /* Tables. Below 700 px style.css draws each row as a card and shows each cell's data-label above its value; the
     label comes from the column's header where the template did not set one. Browsers drop a table's semantics once
     it is no longer displayed as a table, so the ARIA roles say it again: screen readers keep the column names. */
  each(document.querySelectorAll("table"), function (table) {
    var headers = [];
    var head = table.tHead && table.tHead.rows[0];
    if (head) {
      each(head.cells, function (th) {
        for (var i = 0; i < (th.colSpan || 1); i++) headers.push(th.textContent.replace(/\s+/g, " ").trim());
      });
    }
    table.setAttribute("role", "table");
    each(table.querySelectorAll(":scope > thead, :scope > tbody, :scope > tfoot"), function (group) {
      group.setAttribute("role", "rowgroup");
    });
    each(table.rows, function (row) {
      row.setAttribute("role", "row");
      var column = 0;
      each(row.cells, function (cell) {
        if (cell.tagName === "TH") {
          cell.setAttribute("role", row.parentNode.tagName === "THEAD" ? "columnheader" : "rowheader");
        } else {
          cell.setAttribute("role", "cell");
          if (!cell.hasAttribute("data-label") && headers[column]) cell.setAttribute("data-label", headers[column]);
        }
        column += cell.colSpan || 1;
      });
    });
  });

  /* The menu collapses into one button on phones (style.css shows the button below 700 px only). */
  var bar = document.querySelector(".topbar");
  var toggle = document.querySelector(".menu-toggle");
  if (bar && toggle) {
    toggle.hidden = false;
    bar.classList.add("has-toggle");
    toggle.addEventListener("click", function () {
      var open = bar.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  /* The current page in every menu: the link whose path is the longest prefix of this page's path. */
  var path = window.location.pathname;
  each(document.querySelectorAll("nav"), function (nav) {
    var best = null, bestLength = -1;
    each(nav.querySelectorAll("a[href^='/']"), function (link) {
      var href = link.getAttribute("href").split(/[?#]/)[0];
      var hit = href === "/" ? path === "/" : (path === href || path.indexOf(href.replace(/\/$/, "") + "/") === 0);
      if (hit && href.length > bestLength) { best = link; bestLength = href.length; }
    });
    if (best) best.setAttribute("aria-current", "page");
  });
})();
