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
  /* After a form was refused by the server: the focus moves to the message (role=alert), the field it is about is
     marked aria-invalid and described by it, and the message names the field with a link to it. The field is the
     one the server named (data-error-field) or the one whose label the message quotes (“Nơi nhận”). */
  var main = document.getElementById("noi-dung");
  var refused = main && main.hasAttribute("data-form-error") && main.querySelector(".notice.error");
  function nameOf(control) {
    var label = (control.id && document.querySelector('label[for="' + control.id + '"]')) || control.closest("label");
    if (!label) return "";
    var copy = label.cloneNode(true);
    each(copy.querySelectorAll("input, select, textarea, .hint"), function (el) { el.remove(); });
    return copy.textContent.replace(/\s*\([^)]*\)\s*$/, "").replace(/\s+/g, " ").trim();
  }
  function visibleControl(field) {
    var picker = field.hidden && field.closest(".picker");
    return picker ? picker.querySelector(".picker-input") : field;
  }
  if (refused) {
    var wanted = main.getAttribute("data-error-field"), field = null;
    if (wanted) field = main.querySelector('form [name="' + wanted.replace(/["\\]/g, "") + '"]');
    if (!field) {
      var quoted = (refused.textContent.match(/“([^”]+)”/) || [])[1];
      if (quoted) {
        each(main.querySelectorAll("form input:not([type=hidden]), form select, form textarea"), function (c) {
          if (!field && nameOf(visibleControl(c)).toLowerCase().indexOf(quoted.toLowerCase()) === 0) field = c;
        });
      }
    }
    refused.id = refused.id || "loi-bieu-mau";
    refused.tabIndex = -1;
    if (field) {
      var control = visibleControl(field), name = nameOf(control);
      if (!control.id) control.id = "truong-" + (field.name || "loi");
      control.setAttribute("aria-invalid", "true");
      var described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(refused.id) < 0) described.unshift(refused.id);
      control.setAttribute("aria-describedby", described.join(" "));
      if (name) {
        var link = document.createElement("a");
        link.href = "#" + control.id;
        link.className = "error-field";
        link.textContent = "Sửa trường “" + name + "”";
        link.addEventListener("click", function (e) { e.preventDefault(); control.focus(); });
        refused.appendChild(document.createTextNode(" "));
        refused.appendChild(link);
      }
      control.addEventListener("input", function () { control.removeAttribute("aria-invalid"); }, {once: true});
    }
    refused.focus();
  }

  /* The page's main action (one per page, class main-action) sits at the bottom of a phone's screen (style.css):
     only the first one on the page keeps the place. */
  each(Array.prototype.slice.call(document.querySelectorAll(".main-action"), 1), function (el) {
    el.classList.remove("main-action");
  });
  /* The installable app: its service worker (sw.js) keeps the home lists and the last documents readable offline. */
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* the pages work without it */ });
  }
  /* Nothing is sent while offline without saying so: the form stays as filled in, and the page says it was not
     sent. */
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (navigator.onLine !== false) return;
    e.preventDefault();
    var old = form.parentNode.querySelector(".notice.offline-form");
    if (old) old.remove();
    var note = document.createElement("p");
    note.className = "notice error offline-form";
    note.setAttribute("role", "alert");
    note.tabIndex = -1;
    note.textContent = "Không có mạng: chưa gửi. Nội dung vẫn còn trên trang; hãy gửi lại khi có mạng.";
    form.parentNode.insertBefore(note, form);
    note.focus();
  }, true);
  /* Signing out drops the pages kept on this device for reading offline. */
  each(document.querySelectorAll('form[action="/dang-xuat"]'), function (form) {
    form.addEventListener("submit", function () {
      if (window.caches) caches.delete("congvan-pages");
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage("forget-pages");
      }
      if (navigator.clearAppBadge) navigator.clearAppBadge().catch(function () {});
    });
  });
  /* The app's badge: the number of items waiting, as the home page counts them (Badging API, where present). */
  var waiting = document.querySelector("[data-waiting]");
  if (waiting && navigator.setAppBadge) {
    var count = parseInt(waiting.getAttribute("data-waiting"), 10) || 0;
    (count ? navigator.setAppBadge(count) : navigator.clearAppBadge()).catch(function () {});
  }
})();
