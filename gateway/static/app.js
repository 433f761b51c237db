/* The pages' only script (the Content-Security-Policy allows no inline script or handler). Without it every page
   still works: the date fields stay plain date fields, the forms post without asking, the browser's own messages. */
(function () {
  "use strict";

  /* Dates read dd/mm/yyyy. Chromium draws <input type="date"> in the browser's own locale (mm/dd/yyyy in an English
     browser) whatever lang="vi" says, so each date field becomes a text field shown and typed as dd/mm/yyyy
     (yyyy-mm-dd is accepted too), and the form still sends yyyy-mm-dd, which is what the server reads. A phone's
     number pad has no "/" (iOS shows digits only for inputmode=numeric), so eight digits ddmmyyyy are a date too,
     as are dd-mm-yyyy and dd.mm.yyyy; the field shows dd/mm/yyyy once the person leaves it. */
  function isoOf(y, m, d) {
    var t = new Date(Date.UTC(+y, +m - 1, +d));
    if (t.getUTCFullYear() !== +y || t.getUTCMonth() !== +m - 1 || t.getUTCDate() !== +d) return null;
    return y + "-" + ("0" + m).slice(-2) + "-" + ("0" + d).slice(-2);
  }
  function parse(text) {
    var t = (text || "").trim(), m;
    if ((m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(t))) return isoOf(m[1], m[2], m[3]);
    if ((m = /^(\d{1,2})[\/.\-\s](\d{1,2})[\/.\-\s](\d{4})$/.exec(t))) return isoOf(m[3], m[2], m[1]);
    if ((m = /^(\d{2})(\d{2})(\d{4})$/.exec(t))) return isoOf(m[3], m[2], m[1]);
    return null;
  }
  function shown(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return m ? m[3] + "/" + m[2] + "/" + m[1] : (iso || "");
  }
  /* A date and time (datetime-local: Chromium draws "12/05/2026, 02:26 PM" in an English browser) reads
     dd/mm/yyyy hh:mm on the 24-hour clock, Vietnam time as the server takes it; "14h30" and twelve digits
     ddmmyyyyhhmm are a time too, and the form sends yyyy-mm-ddThh:mm. */
  function parseMoment(text) {
    var t = (text || "").trim().replace(/\s+/g, " "), m, day, h, min;
    if ((m = /^(\d{2})(\d{2})(\d{4})(\d{2})(\d{2})$/.exec(t))) {
      day = isoOf(m[3], m[2], m[1]); h = m[4]; min = m[5];
    } else if ((m = /^(.+?)[ T,]+(\d{1,2})[:hH.](\d{2})$/.exec(t))) {
      day = parse(m[1].replace(/,$/, "")); h = m[2]; min = m[3];
    }
    if (!day || +h > 23 || +min > 59) return null;
    return day + "T" + ("0" + h).slice(-2) + ":" + min;
  }
  function shownMoment(iso) {
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})/.exec(iso || "");
    return m ? shown(m[1]) + " " + m[2] + ":" + m[3] : (iso || "");
  }
  var KINDS = {
    "date": {parse: parse, shown: shown, placeholder: "dd/mm/yyyy",
             title: "Ngày theo dạng dd/mm/yyyy, ví dụ 05/03/2026",
             bad: "Nhập ngày theo dạng dd/mm/yyyy, ví dụ 05/03/2026."},
    "datetime-local": {parse: parseMoment, shown: shownMoment, placeholder: "dd/mm/yyyy hh:mm",
                       title: "Ngày giờ theo dạng dd/mm/yyyy hh:mm (24 giờ, giờ Việt Nam), ví dụ 05/03/2026 14:30",
                       bad: "Nhập ngày giờ theo dạng dd/mm/yyyy hh:mm (24 giờ), ví dụ 05/03/2026 14:30."}
  };
  var forms = new Set();
  /* A date field with min (a deadline: a day already past is nearly always a slip of the year or month, and would
     show the work overdue from the start) says so before the form is sent, so nothing typed is lost. A decision
     entered late (the form's "Thời điểm thực tế" or "Thời điểm lãnh đạo ...", late_entry_at) is judged on its own
     day. The server takes any day (the REST API, a page without script). */
  function tooEarly(input) {
    var iso = KINDS.date.parse(input.value), floor = input.getAttribute("data-min");
    var late = input.form && input.form.querySelector('[name="late_entry_at"]');
    var lateDay = late && parseMoment(late.value);
    if (lateDay) floor = lateDay.slice(0, 10);
    return iso && floor && iso < floor ? "Ngày này đã qua: chọn từ ngày " + shown(floor) + " trở đi." : "";
  }
  document.querySelectorAll('input[type="date"], input[type="datetime-local"]').forEach(function (input) {
    var kind = input.type, rules = KINDS[kind];
    var value = input.value || input.getAttribute("value") || "";
    if (kind === "date" && input.min) {
      input.setAttribute("data-min", input.min);
      input.removeAttribute("min");
    }
    input.type = "text";
    input.value = rules.shown(value);
    input.placeholder = rules.placeholder;
    input.title = rules.title;
    input.setAttribute("inputmode", "numeric");
    input.setAttribute("autocomplete", "off");
    input.setAttribute("data-vn-date", kind);
    function check() {
      var bad = input.value.trim() && !rules.parse(input.value) ? rules.bad : "";
      input.setCustomValidity(bad || (input.hasAttribute("data-min") ? tooEarly(input) : ""));
    }
    input.addEventListener("input", check);
    if (input.hasAttribute("data-min") && input.form) {
      var late = input.form.querySelector('[name="late_entry_at"]');
      if (late) late.addEventListener("input", check);
    }
    input.addEventListener("change", function () {
      var iso = rules.parse(input.value);
      if (iso) input.value = rules.shown(iso);
    });
    if (input.form) forms.add(input.form);
  });
  forms.forEach(function (form) {
    form.addEventListener("formdata", function (e) {
      var names = {};
      form.querySelectorAll("input[data-vn-date]").forEach(function (input) {
        if (input.name) (names[input.name] = names[input.name] || []).push(input);
      });
      Object.keys(names).forEach(function (name) {
        e.formData.delete(name);
        names[name].forEach(function (input) {
          var rules = KINDS[input.getAttribute("data-vn-date")] || KINDS.date;
          if (!input.disabled) e.formData.append(name, rules.parse(input.value) || input.value.trim());
        });
      });
    });
  });

  /* "Are you sure?" before a form that cannot be undone (data-confirm holds the question), or before one of its
     buttons that cannot (a button's own data-confirm: "Đồng ý thu hồi" beside "Từ chối yêu cầu"). */
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (e) {
      if (!window.confirm(button.dataset.confirm)) e.preventDefault();
    });
  });

  /* The browser's own validation messages are in the browser's language (English on many machines): every field
     says what is wrong in Vietnamese instead. A field's title, when it has one, explains its pattern. */
  function message(field) {
    var v = field.validity;
    if (v.valueMissing) {
      if (field.type === "checkbox") return "Hãy đánh dấu ô này để tiếp tục.";
      if (field.type === "radio") return "Hãy chọn một trong các lựa chọn.";
      if (field.type === "file") return "Hãy chọn tệp.";
      if (field.tagName === "SELECT") return "Hãy chọn một mục trong danh sách.";
      return "Hãy điền vào trường này.";
    }
    if (v.typeMismatch) {
      if (field.type === "email") return "Hãy nhập địa chỉ thư điện tử hợp lệ, ví dụ ten@coquan.gov.vn.";
      if (field.type === "url") return "Hãy nhập địa chỉ trang web hợp lệ.";
      return "Giá trị không đúng kiểu dữ liệu.";
    }
    if (v.patternMismatch) return field.title || "Giá trị chưa đúng định dạng yêu cầu.";
    if (v.tooLong) return "Tối đa " + field.maxLength + " ký tự (hiện có " + field.value.length + ").";
    if (v.tooShort) return "Cần ít nhất " + field.minLength + " ký tự (hiện có " + field.value.length + ").";
    if (v.badInput) return field.type === "number" ? "Hãy nhập một số." : "Giá trị không hợp lệ.";
    if (v.rangeUnderflow) return "Giá trị phải từ " + field.min + " trở lên.";
    if (v.rangeOverflow) return "Giá trị không được lớn hơn " + field.max + ".";
    if (v.stepMismatch) return field.type === "number" ? "Hãy nhập số nguyên." : "Giá trị không hợp lệ.";
    return "";
  }
  var ours = new WeakMap();  // the message this script set, so that one set by another script is left alone
  function clearOurs(field) {
    if (ours.has(field) && field.validationMessage === ours.get(field)) field.setCustomValidity("");
    ours.delete(field);
  }
  document.addEventListener("invalid", function (e) {
    var field = e.target;
    if (field.validity.customError && !ours.has(field)) return;  // e.g. the date fields' own message
    clearOurs(field);
    var text = message(field);
    if (text) {
      field.setCustomValidity(text);
      ours.set(field, text);
    }
  }, true);
  // Only "input" (fired by typing, choosing, ticking, picking a file): a "change" also comes when the field loses
  // focus, which happens as the browser moves to the first bad field, and would wipe the message just set.
  document.addEventListener("input", function (e) {
    if (e.target && e.target.validity) clearOurs(e.target);
  }, true);
})();

/* "In lịch (khổ A4)" and any other print button: the page's print style does the rest (no inline script: CSP). */
(function () {
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) buttons[i].addEventListener("click", function () { window.print(); });
})();
