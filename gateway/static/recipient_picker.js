/* The recipients' picker (Nơi nhận) of "Gửi văn bản", "Ban hành" and "Gửi bản sao" (templates/_fields.html): the
   page carries no directory. Typing asks the server (GET /api/v1/directory/agencies, ~20 matches, Vietnamese typed
   without its marks still finds), the matches are offered as a listbox (the ARIA 1.2 combobox pattern, as
   picker.js), and the chosen ones are listed in the order chosen, each with up, down and remove buttons: the order
   of "Nơi nhận" on a document is deliberate (NĐ 30/2020 Phụ lục I). The <select multiple name="recipients"> stays in
   the form, hidden, holding the chosen agencies as options in that order: the browser posts them in document order,
   so the form posts exactly what the list shows. Without script the select shows what was chosen and the
   identifiers are typed in the text field beside it (recipient_codes). */
(function () {
  "use strict";
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var LIMIT = 20, WAIT_MS = 200;
  var counter = 0;

  function enhance(select) {
    var shared = window.CongVanPicker, n = ++counter, id = "noi-nhan-" + n;
    var root = select.closest(".recipient-picker") || select.parentNode;
    var required = select.hasAttribute("data-required");
    var url = select.getAttribute("data-search");
    var parts = shared.combobox(id, "Gõ tên hoặc mã định danh để tìm",
      "Gõ tên (không cần dấu) hoặc mã định danh; mũi tên lên, xuống để di chuyển; Enter để chọn; Esc để đóng. "
      + "Nơi nhận được gửi và in theo thứ tự đã chọn; dùng nút ↑ ↓ để đổi thứ tự.", "ol");
    var chips = parts.chips, input = parts.input, list = parts.list, status = parts.status;
    parts.box.classList.add("recipient-order");
    chips.classList.add("ordered");
    chips.setAttribute("aria-label", "Nơi nhận đã chọn, theo thứ tự");
    shared.place(parts, select, select.closest("label"), function (words) { return words; });
    // Identifiers typed by hand are the page without script: the search replaces them.
    each(root.querySelectorAll(".recipient-codes"), function (el) { el.hidden = true; });

    var found = [], timer = null, asked = 0;
    var nav = shared.navigation(input, list, function () { return Array.prototype.slice.call(list.children); });

    function chosen() { return Array.prototype.filter.call(select.options, function (o) { return o.selected; }); }
    function optionOf(organId) {
      return Array.prototype.find.call(select.options, function (o) { return o.value === organId; });
    }
    function changed() { select.dispatchEvent(new Event("change", {bubbles: true})); }
    function button(textContent, name, onClick) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "chip-remove";
      b.textContent = textContent;
      b.setAttribute("aria-label", name);
      b.addEventListener("click", onClick);
      return b;
    }
    function say(message) { status.textContent = message; }

    function move(option, step) {
      var picked = chosen(), at = picked.indexOf(option), other = picked[at + step];
      if (!other) return;
      select.insertBefore(option, step < 0 ? other : other.nextSibling);
      changed();
      say("Đã chuyển " + option.textContent + " đến vị trí " + (at + step + 1) + ".");
      var again = chips.querySelector('[data-organ="' + option.value + '"] button[data-step="' + step + '"]');
      (again && !again.disabled ? again : input).focus();
    }
    function draw() {
      chips.textContent = "";
      var picked = chosen();
      picked.forEach(function (option, index) {
        var chip = document.createElement("li");
        chip.setAttribute("data-organ", option.value);
        var words = document.createElement("span");
        words.textContent = option.textContent;
        var up = button("↑", "Đưa lên trên: " + option.textContent, function () { move(option, -1); });
        up.setAttribute("data-step", "-1");
        up.disabled = index === 0;
        var down = button("↓", "Đưa xuống dưới: " + option.textContent, function () { move(option, 1); });
        down.setAttribute("data-step", "1");
        down.disabled = index === picked.length - 1;
        var remove = button("×", "Bỏ chọn " + option.textContent, function () { toggle(option.value, ""); input.focus(); });
        chip.appendChild(words);
        chip.appendChild(up);
        chip.appendChild(down);
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
      chips.hidden = !picked.length;
      each(list.children, function (li) {
        var option = optionOf(li.getAttribute("data-organ"));
        li.setAttribute("aria-selected", option && option.selected ? "true" : "false");
      });
      input.setCustomValidity(required && !picked.length ? "Hãy chọn ít nhất một nơi nhận." : "");
    }
    /* Chosen: appended last (the order chosen); chosen again: removed. */
    function toggle(organId, name) {
      var option = optionOf(organId);
      if (option && option.selected) {
        option.remove();
        say("Đã bỏ chọn " + option.textContent + ". Đã chọn " + chosen().length + " nơi nhận.");
      } else {
        if (option) option.remove();
        option = new Option(name + " (" + organId + ")", organId, true, true);
        select.appendChild(option);
        say("Đã chọn " + option.textContent + ", thứ " + chosen().length + ".");
      }
      changed();
    }

    function show(agencies) {
      found = agencies;
      list.removeAttribute("aria-busy");
      list.textContent = "";
      agencies.forEach(function (a, i) {
        var li = document.createElement("li");
        li.id = id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("data-organ", a.organ_id);
        li.textContent = a.name + " (" + a.organ_id + ")";
        li.addEventListener("mousedown", function (e) { e.preventDefault(); });  // keeps the focus in the field
        li.addEventListener("click", function () { toggle(a.organ_id, a.name); input.focus(); });
        list.appendChild(li);
      });
      draw();
      // an answer that comes once the clerk has left the field (a slow network) does not open a list there
      if (document.activeElement !== input) return;
      nav.open(true);
      nav.set(agencies.length ? 0 : -1);
      say(agencies.length ? agencies.length + " kết quả" + (agencies.length >= LIMIT ? ", gõ thêm để thu hẹp" : "")
        : "Không có cơ quan nào khớp");
    }
    function search() {
      var query = input.value.trim();
      if (!query) { found = []; list.textContent = ""; list.removeAttribute("aria-busy"); nav.open(false); return; }
      var mine = ++asked;
      say("Đang tìm…");
      fetch(url + "?" + new URLSearchParams({q: query, limit: String(LIMIT)}),
            {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (agencies) { if (mine === asked) show(agencies); })
        .catch(function () {
          if (mine !== asked) return;
          list.removeAttribute("aria-busy");
          list.textContent = "";
          nav.open(false);
          say("Không tìm được trong danh bạ (mất mạng hoặc phiên đã hết). Hãy thử lại.");
        });
    }

    input.addEventListener("input", function () {
      // busy from the first key to the answer: what the list shows until then is the previous question's
      list.setAttribute("aria-busy", "true");
      clearTimeout(timer);
      timer = setTimeout(search, WAIT_MS);
    });
    input.addEventListener("blur", function () { nav.open(false); });
    nav.keys({
      reopen: function () { if (found.length) nav.open(true); },
      choose: function (index) {
        if (found[index]) toggle(found[index].organ_id, found[index].name);
        return !!found[index];
      },
      removeLast: function () {
        var picked = chosen();
        if (picked.length) toggle(picked[picked.length - 1].value, "");
      }
    });
    if (select.form) select.form.addEventListener("reset", function () { setTimeout(draw, 0); });
    // Recipient groups add their members here (recipient_groups.js) and say so with "change".
    select.addEventListener("change", draw);
    draw();
  }

  each(document.querySelectorAll("select[data-search]"), enhance);
})();
