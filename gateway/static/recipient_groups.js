/* Recipient groups on the send and issue screens (templates/_recipient_picker.html): ticking a group ticks its
   members in the recipients' list (picker.js draws them as chips, each removable); unticking it unticks those it
   added. Removing one member of a ticked group unticks the group, so that the server does not add it back: what
   the form posts is then exactly what the clerk sees. Without script the ticked groups post as they are and the
   server adds their members. */
(function () {
  "use strict";
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  function wire(fieldset) {
    var select = document.getElementById(fieldset.getAttribute("data-select"));
    if (!select) return;
    var byValue = {};
    each(select.options, function (o) { byValue[o.value] = o; });
    var boxes = fieldset.querySelectorAll("input[type=checkbox][data-adds]");
    var added = new Map();   // a ticked group -> the options it ticked (those not chosen before)

    function members(box) {
      return box.getAttribute("data-adds").split(" ").filter(function (v) { return byValue[v]; })
        .map(function (v) { return byValue[v]; });
    }
    function changed() { select.dispatchEvent(new Event("change", {bubbles: true})); }

    each(boxes, function (box) {
      box.addEventListener("change", function () {
        if (box.checked) {
          var mine = members(box).filter(function (o) { return !o.selected; });
          mine.forEach(function (o) { o.selected = true; });
          added.set(box, mine);
        } else {
          var still = new Set();
          each(boxes, function (other) {
            if (other !== box && other.checked) members(other).forEach(function (o) { still.add(o); });
          });
          (added.get(box) || []).forEach(function (o) { if (!still.has(o)) o.selected = false; });
          added.delete(box);
        }
        changed();
      });
      if (box.checked) added.set(box, []);  // ticked when the page came back with an error: members already chosen
    });

    select.addEventListener("change", function () {
      each(boxes, function (box) {
        if (box.checked && members(box).some(function (o) { return !o.selected; })) {
          box.checked = false;  // one of its members was removed by hand: the list says it all now
          added.delete(box);
        }
      });
    });
    // A page shown again after an error: the ticked groups' members are ticked in the list too.
    var any = false;
    each(boxes, function (box) {
      if (box.checked) members(box).forEach(function (o) { if (!o.selected) { o.selected = true; any = true; } });
    });
    if (any) changed();
  }

  each(document.querySelectorAll("fieldset.recipient-groups[data-select]"), wire);
})();
