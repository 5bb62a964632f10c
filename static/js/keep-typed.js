/* Switching the language reloads the page (the server draws it in the other language). So
   that nothing typed is lost, a click on a language link keeps what was changed in the page's
   forms in sessionStorage (this tab only), keyed by the page it returns to; that page puts the
   values back once and forgets them. Never kept: passwords, PINs, one-time codes, form tokens,
   hidden fields and files (a browser cannot set a file input: the page says to choose them
   again). Without JavaScript the switch still works; what was typed is then lost. */
(function () {
  "use strict";

  var KEY = "pengaduan.typed";
  var MAX_AGE_MS = 10 * 60 * 1000;
  var NOT_VALUES = { password: 1, hidden: 1, file: 1, submit: 1, button: 1, reset: 1, image: 1 };
  var SECRET = /pin|password|csrf|token|secret|otp|proof/i;

  if (!window.sessionStorage || !window.JSON) { return; }
  var words = document.querySelector(".lang-switch[data-files-again]");  // the switch's words

  function here() { return window.location.pathname + window.location.search; }

  function keepable(el) {
    if (!el.name || el.disabled || !el.type || NOT_VALUES[el.type]) { return false; }
    if (SECRET.test(el.name) || el.getAttribute("autocomplete") === "one-time-code") { return false; }
    return !el.closest("[data-keep=off]");
  }

  /* A form is found again by its action and its place among the forms with that action. */
  function formKeys() {
    var seen = {}, keys = [];
    for (var i = 0; i < document.forms.length; i++) {
      var action = document.forms[i].getAttribute("action") || "";
      seen[action] = (seen[action] || 0) + 1;
      keys.push(action + "#" + seen[action]);
    }
    return keys;
  }

  /* Each field by name and its place among the fields of that name (radios and checkboxes
     by name and value): what differs from the page as it was drawn or, on the answer to a
     form sent (drawn with what was typed; the language link returns to the empty form),
     everything. */
  function changedValues(form, all) {
    var values = [], count = {};
    for (var i = 0; i < form.elements.length; i++) {
      var el = form.elements[i];
      if (!keepable(el)) { continue; }
      var nth = count[el.name] = (count[el.name] || 0) + 1;
      if (el.type === "checkbox" || el.type === "radio") {
        if (all || el.checked !== el.defaultChecked) { values.push({ n: el.name, v: el.value, c: el.checked }); }
      } else if (el.tagName === "SELECT") {
        var picked = [], changed = false;
        for (var j = 0; j < el.options.length; j++) {
          if (el.options[j].selected) { picked.push(el.options[j].value); }
          if (el.options[j].selected !== el.options[j].defaultSelected) { changed = true; }
        }
        if (all || changed) { values.push({ n: el.name, i: nth, s: picked }); }
      } else if (el.value !== el.defaultValue || (all && el.value)) {
        values.push({ n: el.name, i: nth, v: el.value });
      }
    }
    return values;
  }

  function chosenFiles(form) {
    var names = [];
    for (var i = 0; i < form.elements.length; i++) {
      var el = form.elements[i];
      if (el.type === "file" && el.name && el.files && el.files.length) { names.push(el.name); }
    }
    return names;
  }

  function save(target, all) {
    var keys = formKeys(), forms = {}, files = {}, any = false;
    for (var i = 0; i < document.forms.length; i++) {
      var values = changedValues(document.forms[i], all), chosen = chosenFiles(document.forms[i]);
      if (values.length) { forms[keys[i]] = values; any = true; }
      if (chosen.length) { files[keys[i]] = chosen; any = true; }
    }
    if (!any) { return; }
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ path: target, at: Date.now(), forms: forms, files: files }));
    } catch (e) { /* storage full or refused: the switch works anyway */ }
  }

  function fieldsNamed(form, name) {
    var found = [];
    for (var i = 0; i < form.elements.length; i++) {
      if (form.elements[i].name === name && keepable(form.elements[i])) { found.push(form.elements[i]); }
    }
    return found;
  }

  function put(form, value) {
    var fields = fieldsNamed(form, value.n), el = null;
    if ("c" in value) {
      for (var i = 0; i < fields.length; i++) { if (fields[i].value === value.v) { el = fields[i]; } }
      if (el) { el.checked = value.c; }
    } else {
      el = fields[value.i - 1];
      if (el && el.tagName === "SELECT") {
        for (var j = 0; j < el.options.length; j++) { el.options[j].selected = value.s.indexOf(el.options[j].value) >= 0; }
      } else if (el && "v" in value) {
        el.value = value.v;
      }
    }
    if (!el) { return; }
    var details = el.closest("details");
    if (details) { details.open = true; }  // a folded form with something typed in it
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function noteFilesAgain(form, names, text) {
    for (var i = 0; i < names.length; i++) {
      var inputs = form.querySelectorAll("input[type=file]");
      for (var j = 0; j < inputs.length; j++) {
        var input = inputs[j];
        if (input.name !== names[i] || input.getAttribute("data-files-again")) { continue; }
        var note = document.createElement("p");
        note.className = "notice";
        note.id = (input.id || input.name) + "-again";
        note.textContent = text;
        input.parentNode.insertBefore(note, input);
        input.setAttribute("data-files-again", "1");
        var described = input.getAttribute("aria-describedby");
        input.setAttribute("aria-describedby", (described ? described + " " : "") + note.id);
      }
    }
  }

  function restore() {
    var kept;
    try {
      kept = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY);  // put back once, whatever happens
    } catch (e) { return; }
    if (!kept || kept.path !== here() || !(Date.now() - kept.at < MAX_AGE_MS)) { return; }
    var keys = formKeys();
    for (var i = 0; i < document.forms.length; i++) {
      var values = kept.forms[keys[i]] || [];
      for (var j = 0; j < values.length; j++) { put(document.forms[i], values[j]); }
      var files = kept.files[keys[i]];
      if (files && words) { noteFilesAgain(document.forms[i], files, words.getAttribute("data-files-again")); }
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".lang-switch a[href]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    var url = new URL(link.href, window.location.href), next = url.searchParams.get("next") || "";
    /* A step opened in place (static/js/case.js) changed the address, and the place on the
       page (#step-form) is worth returning to as well. */
    if (next.split(/[?#]/)[0] === window.location.pathname && next !== here() + window.location.hash) {
      next = here() + window.location.hash;
      url.searchParams.set("next", next);
      link.href = url.toString();
    }
    save(next.split("#")[0], link.closest(".lang-switch").hasAttribute("data-posted"));
  });

  restore();
}());
