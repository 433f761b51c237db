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

  function enhance(select) {
    var n = ++counter, id = "chon-" + n;
    var label = select.closest("label") || (select.id && document.querySelector('label[for="' + select.id + '"]'));
    var required = select.required;
    var box = document.createElement("div");
    box.className = "picker";
    var chips = document.createElement("ul");
    chips.className = "chips";
    chips.setAttribute("aria-label", "Đã chọn");
    var input = document.createElement("input");
    input.type = "text";
    input.id = id + "-o";
    input.className = "picker-input";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id + "-ds");
    input.setAttribute("autocomplete", "off");
    input.placeholder = "Gõ để tìm, rồi chọn";
    var list = document.createElement("ul");
    list.id = id + "-ds";
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-multiselectable", "true");
    list.hidden = true;
    var status = document.createElement("p");
    status.className = "picker-status";
    status.setAttribute("aria-live", "polite");   // announced, without a second "status" on the page
    var help = document.createElement("span");
    help.id = id + "-hd";
    help.className = "hint";
    help.textContent = "Mũi tên lên, xuống để di chuyển; Enter để chọn hoặc bỏ chọn; Esc để đóng danh sách.";
    input.setAttribute("aria-describedby", help.id);

    if (label) {
      // The label now names the text field: its words stay, the hidden select leaves it.
      var name = label.cloneNode(true);
      each(name.querySelectorAll("select"), function (s) { s.remove(); });
      // "giữ Ctrl để chọn nhiều" is the plain select's hint: the picker needs no Ctrl.
      var text = name.textContent.replace(/\s*\(giữ Ctrl[^)]*\)/, "").replace(/;\s*giữ Ctrl[^)]*/, "")
        .replace(/\s+/g, " ").trim();
      label.parentNode.insertBefore(box, label.nextSibling);
      label.textContent = text;
      label.htmlFor = input.id;
      list.setAttribute("aria-label", text);
    } else {
      select.parentNode.insertBefore(box, select);
    }
    select.hidden = true;
    select.required = false;  // the browser cannot point at a hidden field: the text field says it instead
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    box.appendChild(chips);
    box.appendChild(input);
    box.appendChild(help);
    box.appendChild(list);
    box.appendChild(status);
    box.appendChild(select);

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
    var active = -1;

    function shown() { return options.filter(function (o) { return !o.li.hidden; }); }
    function setActive(index) {
      var visible = shown();
      each(list.querySelectorAll(".active"), function (li) { li.classList.remove("active"); });
      active = Math.max(-1, Math.min(index, visible.length - 1));
      if (active >= 0) {
        visible[active].li.classList.add("active");
        input.setAttribute("aria-activedescendant", visible[active].li.id);
        visible[active].li.scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
    function open(show) {
      list.hidden = !show;
      input.setAttribute("aria-expanded", show ? "true" : "false");
      if (!show) setActive(-1);
    }
    function filter() {
      var words = plain(input.value).split(" ").filter(Boolean), count = 0;
      options.forEach(function (o) {
        var hit = words.every(function (w) { return o.key.indexOf(w) >= 0; });
        o.li.hidden = !hit;
        if (hit) count++;
      });
      open(true);
      setActive(words.length && count ? 0 : -1);
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
    input.addEventListener("blur", function () { open(false); });
    input.addEventListener("keydown", function (e) {
      var visible = shown();
      if (e.key === "ArrowDown") {
        e.preventDefault();
        if (list.hidden) filter();
        setActive(active + 1);
      } else if (e.key === "ArrowUp") {
        e.preventDefault();
        setActive(active - 1);
      } else if (e.key === "Enter") {
        if (!list.hidden && active >= 0 && visible[active]) {
          e.preventDefault();  // chooses; Enter with the list closed still submits the form
          toggle(visible[active]);
        }
      } else if (e.key === "Escape") {
        if (!list.hidden) { e.preventDefault(); open(false); }
      } else if (e.key === "Backspace" && !input.value) {
        var chosen = options.filter(function (o) { return o.option.selected; });
        if (chosen.length) toggle(chosen[chosen.length - 1]);
      }
    });
    if (select.form) select.form.addEventListener("reset", function () { setTimeout(draw, 0); });
    // Another script may choose for the person (recipient groups tick their members): it says so with "change".
    select.addEventListener("change", draw);
    draw();
    filter();
    open(false);
    status.textContent = "";
  }

  // The recipients' picker searches the server instead (recipient_picker.js).
  each(document.querySelectorAll("select[multiple]:not([data-search])"), enhance);
})();
