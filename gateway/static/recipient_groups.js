/* Recipient groups on the send, issue and copy screens (templates/_fields.html): ticking a group adds its members to
   the recipients chosen (recipient_picker.js lists them, in order, each removable), read from
   GET /api/v1/recipient-groups/{id} since the page carries no directory; unticking it removes those it added.
   Removing one member of a ticked group unticks the group, so that the server does not add it back: what the form
   posts is then exactly what the clerk sees. Without script the ticked groups post as they are and the server adds
   their members after the agencies chosen. */
(function () {
  "use strict";
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  function wire(fieldset) {
    var select = document.getElementById(fieldset.getAttribute("data-select"));
    if (!select) return;
    var boxes = fieldset.querySelectorAll("input[type=checkbox][data-group]");
    var members = new Map();   // a group's box -> the organ ids it sends to (once read)
    var added = new Map();     // a ticked group -> the organ ids it added (those not chosen before)
    var quiet = false;

    function optionOf(organId) {
      return Array.prototype.find.call(select.options, function (o) { return o.value === organId && o.selected; });
    }
    function changed() {
      quiet = true;
      select.dispatchEvent(new Event("change", {bubbles: true}));
      quiet = false;
    }
    function read(box) {
      if (members.has(box)) return Promise.resolve(members.get(box));
      return fetch("/api/v1/recipient-groups/" + encodeURIComponent(box.getAttribute("data-group")),
                   {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (group) {
          var sendable = group.members.filter(function (m) { return m.available && m.send_to; })
            .map(function (m) { return {organ_id: m.send_to, name: m.name}; });
          members.set(box, sendable);
          return sendable;
        });
    }
    function add(box) {
      return read(box).then(function (list) {
        if (!box.checked) return;
        var mine = [];
        list.forEach(function (m) {
          if (optionOf(m.organ_id)) return;
          select.appendChild(new Option(m.name + " (" + m.organ_id + ")", m.organ_id, true, true));
          mine.push(m.organ_id);
        });
        added.set(box, (added.get(box) || []).concat(mine));
        changed();
      }, function () {
        box.checked = false;
        var hint = fieldset.querySelector(".group-error");
        if (hint) hint.hidden = false;
      });
    }
    function drop(box) {
      var still = new Set();
      each(boxes, function (other) {
        if (other !== box && other.checked) (members.get(other) || []).forEach(function (m) { still.add(m.organ_id); });
      });
      (added.get(box) || []).forEach(function (organId) {
        var option = optionOf(organId);
        if (option && !still.has(organId)) option.remove();
      });
      added.delete(box);
      changed();
    }

    each(boxes, function (box) {
      box.addEventListener("change", function () { if (box.checked) add(box); else drop(box); });
      // A page shown again after an error: the ticked groups' members not chosen yet are added.
      if (box.checked) add(box);
    });
    select.addEventListener("change", function () {
      if (quiet) return;
      each(boxes, function (box) {
        var list = members.get(box);
        if (box.checked && list && list.some(function (m) { return !optionOf(m.organ_id); })) {
          box.checked = false;  // one of its members was removed by hand: the list says it all now
          added.delete(box);
        }
      });
    });
  }

  each(document.querySelectorAll("fieldset.recipient-groups[data-select]"), wire);
})();
