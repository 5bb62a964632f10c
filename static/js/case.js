/* The staff case page without reloads. Everything here also works without JavaScript: a
   step button is a link (?step=<key>#step-form) whose page the server draws with only that
   step's form, and "Use template" is a form that asks the server for the text. With this
   script a step's form is fetched and put in place, and a template fills the box at once. */
(function () {
  "use strict";

  var slot = document.getElementById("step-slot");
  if (!slot || !window.fetch || !window.DOMParser) { return; }

  function markCurrent(key) {
    var links = document.querySelectorAll("a.step-link");
    for (var i = 0; i < links.length; i++) {
      var on = links[i].getAttribute("data-step") === key;
      links[i].classList.toggle("step-current", on);
      if (on) { links[i].setAttribute("aria-current", "true"); } else { links[i].removeAttribute("aria-current"); }
    }
  }

  function showStep(link) {
    var url = link.href;
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("status " + answer.status); }
        return answer.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var form = page.getElementById("step-form");
        if (!form) { throw new Error("no step form"); }
        slot.innerHTML = "";
        slot.appendChild(document.importNode(form, true));
        markCurrent(link.getAttribute("data-step"));
        if (window.history && history.pushState) { history.pushState({ step: true }, "", url); }
        var shown = document.getElementById("step-form");
        shown.scrollIntoView({ block: "start" });
        var form = shown.querySelector("form[method=post]") || shown;
        var first = form.querySelector("textarea, select, input:not([type=hidden])");
        (first || shown).focus({ preventScroll: true });
      });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.step-link");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    event.preventDefault();
    showStep(link).catch(function () { window.location.href = link.href; });
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("a.step-cancel");
    if (!cancel || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    event.preventDefault();
    slot.innerHTML = "";
    markCurrent(null);
    if (window.history && history.pushState) { history.pushState({ step: false }, "", cancel.href); }
  });

  // A standard answer fills the step's text box at once (the typed text is replaced, as the
  // page says; the browser's undo brings it back).
  document.addEventListener("submit", function (event) {
    var picker = event.target;
    if (!picker.classList || !picker.classList.contains("template-picker")) { return; }
    var select = picker.querySelector("select");
    var option = select && select.options[select.selectedIndex];
    var box = document.getElementById(picker.getAttribute("data-target"));
    if (!option || !box || option.getAttribute("data-body") === null) { return; }
    event.preventDefault();
    box.focus();
    box.select();
    // execCommand keeps the change undoable where it is supported; the value otherwise.
    if (!document.execCommand || !document.execCommand("insertText", false, option.getAttribute("data-body"))) {
      box.value = option.getAttribute("data-body");
    }
  });

  window.addEventListener("popstate", function () { window.location.reload(); });
})();
