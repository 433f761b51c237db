/* A searchable picker over every <select multiple> (agencies, people, units): type to filter, the chosen ones as
   chips, by keyboard and screen reader (the ARIA 1.2 combobox pattern with a multi-select listbox). The <select>
   stays in the form, hidden, and holds the choice: the form posts exactly the fields it posted before. Without
   script the plain multi-select remains. */
(function () {
  "use strict";
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var counter = 0;
  /* Vietnamese typed without its marks still finds: "so noi vu" finds "Sở Nội vụ". */
  function plain(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D")
      .toLowerCase().replace(/\s+/g, " ").trim();
  }

  /* The parts of a combobox over a listbox (ARIA 1.2 pattern), shared with recipient_picker.js: the box, the chosen
     ones (`chipsTag`: ul, or ol where their order matters), the text field, its help, the list and a polite status. */
  function combobox(id, placeholder, helpText, chipsTag) {
    var box = document.createElement("div");
    box.className = "picker";
    var chips = document.createElement(chipsTag || "ul");
    chips.className = "chips";
    var input = document.createElement("input");
    input.type = "text";
    input.id = id + "-o";
    input.className = "picker-input";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id + "-ds");
    input.setAttribute("autocomplete", "off");
    input.placeholder = placeholder;
    var list = document.createElement("ul");
    list.id = id + "-ds";
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var status = document.createElement("p");
    status.className = "picker-status";
    status.setAttribute("aria-live", "polite");   // announced, without a second "status" on the page
    var help = document.createElement("span");
    help.id = id + "-hd";
    help.className = "hint";
    help.textContent = helpText;
    input.setAttribute("aria-describedby", help.id);
    return {box: box, chips: chips, input: input, list: list, status: status, help: help};
  }

  /* The option made active from the text field (`items()`: the <li> shown), and the list opened or closed. */
  function navigation(input, list, items) {
    var nav = {active: -1};
    nav.set = function (index) {
      var shown = items();
      each(list.querySelectorAll(".active"), function (li) { li.classList.remove("active"); });
      nav.active = Math.max(-1, Math.min(index, shown.length - 1));
      if (nav.active >= 0) {
        shown[nav.active].classList.add("active");
        input.setAttribute("aria-activedescendant", shown[nav.active].id);
        shown[nav.active].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    };
    nav.open = function (show) {
      list.hidden = !show;
      input.setAttribute("aria-expanded", show ? "true" : "false");
      if (!show) nav.set(-1);
    };
    /* The field's keys: arrows move (`on.reopen()` when the list is closed), Enter chooses the active option
       (`on.choose(index)`; with the list closed Enter still submits the form), Esc closes, Backspace in an empty
       field removes the last chosen (`on.removeLast()`). */
    nav.keys = function (on) {
      input.addEventListener("keydown", function (e) {
        if (e.key === "ArrowDown") {
          e.preventDefault();
          if (list.hidden) on.reopen();
          nav.set(nav.active + 1);
        } else if (e.key === "ArrowUp") {
          e.preventDefault();
          nav.set(nav.active - 1);
        } else if (e.key === "Enter") {
          if (!list.hidden && nav.active >= 0 && on.choose(nav.active)) e.preventDefault();
        } else if (e.key === "Escape") {
          if (!list.hidden) { e.preventDefault(); nav.open(false); }
        } else if (e.key === "Backspace" && !input.value) {
          on.removeLast();
        }
      });
    };
    return nav;
  }
  /* The picker in the page: after the select's label, which now names the text field (its words, `reword`ed, stay;
     the select leaves it), the select hidden inside the picker, still in the form. */
  function place(parts, select, label, reword) {
    if (label) {
      var name = label.cloneNode(true);
      each(name.querySelectorAll("select"), function (s) { s.remove(); });
      var text = reword(name.textContent).replace(/\s+/g, " ").trim();
      label.parentNode.insertBefore(parts.box, label.nextSibling);
      label.textContent = text;
      label.htmlFor = parts.input.id;
      parts.list.setAttribute("aria-label", text);
    } else {
      select.parentNode.insertBefore(parts.box, select);
    }
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    [parts.chips, parts.input, parts.help, parts.list, parts.status, select].forEach(function (el) {
      parts.box.appendChild(el);
    });
  }
  window.CongVanPicker = {combobox: combobox, navigation: navigation, place: place};

  function enhance(select) {
    var n = ++counter, id = "chon-" + n;
    var label = select.closest("label") || (select.id && document.querySelector('label[for="' + select.id + '"]'));
    var required = select.required;
    var parts = combobox(id, "Gõ để tìm, rồi chọn",
                         "Mũi tên lên, xuống để di chuyển; Enter để chọn hoặc bỏ chọn; Esc để đóng danh sách.");
    var chips = parts.chips, input = parts.input, list = parts.list, status = parts.status;
    chips.setAttribute("aria-label", "Đã chọn");
    list.setAttribute("aria-multiselectable", "true");

    place(parts, select, label, function (words) {
      // "giữ Ctrl để chọn nhiều" is the plain select's hint: the picker needs no Ctrl.
      return words.replace(/\s*\(giữ Ctrl[^)]*\)/, "").replace(/;\s*giữ Ctrl[^)]*/, "");
    });
    select.required = false;  // the browser cannot point at a hidden field: the text field says it instead

    var options = [];
    each(select.options, function (option, i) {
      if (!option.value) return;
      var group = option.parentNode.tagName === "OPTGROUP" ? option.parentNode.label : "";
      var li = document.createElement("li");
      li.id = id + "-" + i;
      li.setAttribute("role", "option");
      li.textContent = option.textContent;
      if (group) li.title = group;
      li.addEventListener("mousedown", function (e) { e.preventDefault(); });  // keeps the focus in the text field
      li.addEventListener("click", function () { toggle(entry); input.focus(); });
      var entry = {option: option, li: li, key: plain(option.textContent + " " + option.value + " " + group)};
      options.push(entry);
      list.appendChild(li);
    });
    function shown() { return options.filter(function (o) { return !o.li.hidden; }); }
    var nav = navigation(input, list, function () { return shown().map(function (o) { return o.li; }); });

    function filter() {
      var words = plain(input.value).split(" ").filter(Boolean), count = 0;
      options.forEach(function (o) {
        var hit = words.every(function (w) { return o.key.indexOf(w) >= 0; });
        o.li.hidden = !hit;
        if (hit) count++;
      });
      nav.open(true);
      nav.set(words.length && count ? 0 : -1);
      status.textContent = count ? count + " kết quả" : "Không có kết quả phù hợp";
    }
    function validity() {
      var chosen = options.some(function (o) { return o.option.selected; });
      input.setCustomValidity(required && !chosen ? "Hãy chọn ít nhất một mục trong danh sách." : "");
    }
    function draw() {
      chips.textContent = "";
      options.forEach(function (o) {
        o.li.setAttribute("aria-selected", o.option.selected ? "true" : "false");
        if (!o.option.selected) return;
        var chip = document.createElement("li");
        var words = document.createElement("span");
        words.textContent = o.option.textContent;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "chip-remove";
        remove.setAttribute("aria-label", "Bỏ chọn " + o.option.textContent);
        remove.textContent = "×";
        remove.addEventListener("click", function () { toggle(o); input.focus(); });
        chip.appendChild(words);
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
      chips.hidden = !chips.children.length;
      validity();
    }
    function toggle(o) {
      o.option.selected = !o.option.selected;
      draw();
      status.textContent = (o.option.selected ? "Đã chọn " : "Đã bỏ chọn ") + o.option.textContent + ". Đã chọn "
        + chips.children.length + " mục.";
      select.dispatchEvent(new Event("change", {bubbles: true}));
    }

    input.addEventListener("input", filter);
    input.addEventListener("focus", function () { if (!input.value) { filter(); } });
    input.addEventListener("blur", function () { nav.open(false); });
    nav.keys({
      reopen: filter,
      choose: function (index) {
        var visible = shown();
        if (visible[index]) toggle(visible[index]);
        return !!visible[index];
      },
      removeLast: function () {
        var chosen = options.filter(function (o) { return o.option.selected; });
        if (chosen.length) toggle(chosen[chosen.length - 1]);
      }
    });
    if (select.form) select.form.addEventListener("reset", function () { setTimeout(draw, 0); });
    // Another script may choose for the person (recipient groups tick their members): it says so with "change".
    select.addEventListener("change", draw);
    draw();
    filter();
    nav.open(false);
    status.textContent = "";
  }

  // The recipients' picker searches the server instead (recipient_picker.js).
  each(document.querySelectorAll("select[multiple]:not([data-search])"), enhance);
})();
