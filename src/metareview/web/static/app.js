/* metareview serve: keyboard shortcuts for screening, quote/location capture for extraction,
   and the derivation picker. Served as a file (the Content-Security-Policy allows no inline
   script). Every action is an ordinary form that htmx posts; this only presses its button. */
(function () {
  "use strict";

  function typing(target) {
    return target && (target.closest("input, textarea, select, [contenteditable]") !== null);
  }
  // A key pressed again before the next record arrives posts the same record id again; the
  // server stores a reviewer's decision on a record once (the later one is answered with the
  // next record and "already decided").
  // htmx attaches its handler to a swapped-in form only when the swap settles (20 ms later);
  // a key pressed before that would submit the form natively (a full page load, during which
  // the next keys are lost), so the form is handed to htmx first (idempotent).
  function submit(form) {
    if (!form) { return; }
    if (window.htmx) { window.htmx.process(form); }
    form.requestSubmit();
  }

  // -- screening ---------------------------------------------------------------------------
  function reasons() { return document.getElementById("reasons"); }
  function openReasons(open) {
    var r = reasons();
    if (r) { r.hidden = !open; }
  }

  document.addEventListener("keydown", function (ev) {
    var screen = document.getElementById("screen");
    if (!screen || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (ev.target && ev.target.id === "note") {
      if (ev.key === "Escape") { ev.target.blur(); ev.preventDefault(); }
      if (ev.key === "Enter") {
        // Submit, and leave the field so the next key is a decision again (htmx would
        // otherwise put the focus back into the new note field after the swap).
        ev.preventDefault();
        var form = ev.target.form;
        ev.target.blur();
        submit(form);
      }
      return;
    }
    if (typing(ev.target)) { return; }
    var r = reasons();
    if (r && !r.hidden) {
      if (ev.key === "Escape") { openReasons(false); ev.preventDefault(); return; }
      var pick = r.querySelector('form[data-key="' + (ev.key === "Enter" ? "Enter" : ev.key) + '"]');
      if (pick) { ev.preventDefault(); submit(pick); }
      return;
    }
    var key = ev.key.toLowerCase();
    var forms = { i: "f-include", m: "f-maybe", u: "f-undo", s: "f-skip" };
    if (forms[key]) {
      ev.preventDefault();
      submit(document.getElementById(forms[key]));
    } else if (key === "e") {
      ev.preventDefault();
      if (document.getElementById("record")) { openReasons(true); }
    } else if (key === "n") {
      ev.preventDefault();
      var note = document.getElementById("note");
      if (note) { note.focus(); note.select(); }
    }
  });

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (t && t.closest && t.closest("#b-exclude")) { openReasons(true); }
  });

  // -- extraction ----------------------------------------------------------------------------
  var activeRow = null;
  var activeInput = null;
  document.addEventListener("focusin", function (ev) {
    var row = ev.target.closest && ev.target.closest("fieldset.arm");
    if (row) {
      activeRow = row;
      if (ev.target.classList.contains("num")) { activeInput = ev.target; }
    }
  });
  function rowOrFirst() {
    return activeRow || document.querySelector("fieldset.arm");
  }
  function attach(loc, quote, record) {
    var row = rowOrFirst();
    if (!row) { return; }
    var l = row.querySelector("input.location");
    var q = row.querySelector("textarea.quote");
    var s = row.querySelector("select.source-record");
    if (l) { l.value = loc; }
    if (q) { q.value = quote; }
    if (s && record) { s.value = record; }
    row.classList.add("attached");
  }
  document.addEventListener("mouseup", function (ev) {
    var source = ev.target.closest && ev.target.closest(".source");
    if (!source) { return; }
    var sel = window.getSelection();
    var text = sel ? sel.toString().replace(/\s+/g, " ").trim() : "";
    if (!text) { return; }
    var node = sel.anchorNode && (sel.anchorNode.nodeType === 1 ? sel.anchorNode : sel.anchorNode.parentElement);
    var sent = node && node.closest("[data-loc]");
    attach(sent ? sent.getAttribute("data-loc") : "abstract", text, source.getAttribute("data-record"));
  });
  function cell(ev) {
    var td = ev.target.closest && ev.target.closest("td.cell");
    if (!td) { return; }
    var source = td.closest(".source");
    attach(td.getAttribute("data-loc"), td.getAttribute("data-quote"), source && source.getAttribute("data-record"));
    var row = rowOrFirst();
    var target = activeInput && row && row.contains(activeInput) ? activeInput :
      row && row.querySelector('input[name$="-' + td.getAttribute("data-field") + '"]');
    if (target && !target.value) { target.value = td.getAttribute("data-value"); }
  }
  document.addEventListener("click", cell);
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && ev.target.matches && ev.target.matches("td.cell")) { cell(ev); }
  });

  // The derivation picker shows the reported numbers a way of obtaining the SD needs.
  var NEEDS = {
    reported: ["sd"], sd_from_se: ["se"], sd_from_ci: ["ci_lower", "ci_upper"],
    sd_from_median_iqr: ["median", "q1", "q3"], sd_from_median_range: ["median", "min", "max"],
    change_sd: ["r"]
  };
  var ALL = ["sd", "se", "ci_lower", "ci_upper", "median", "q1", "q3", "min", "max", "r"];
  document.addEventListener("change", function (ev) {
    if (!ev.target.matches || !ev.target.matches("select.derive")) { return; }
    var row = ev.target.closest("fieldset.arm");
    var need = NEEDS[ev.target.value] || [];
    ALL.forEach(function (f) {
      var tr = row.querySelector("tr.f-" + f);
      if (tr) { tr.classList.toggle("needed", need.indexOf(f) >= 0); }
    });
  });
})();
