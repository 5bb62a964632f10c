/* The case page's "copy for LAPOR!" blocks. Without this script the answer's text is in a
   read-only box the officer selects and copies by hand; with it, focusing the box selects
   the whole text and a "Copy the text" button puts it on the clipboard. */
(function () {
  "use strict";

  function selectAll(box) {
    box.focus();
    box.select();
    box.setSelectionRange(0, box.value.length);
  }

  function copied(button) {
    var note = button.parentNode.querySelector("[data-copied]");
    if (note) { note.hidden = false; }
  }

  var boxes = document.querySelectorAll("[data-lapor-text]");
  for (var i = 0; i < boxes.length; i++) {
    boxes[i].addEventListener("focus", function (event) { selectAll(event.target); });
  }

  var buttons = document.querySelectorAll("button[data-copy]");
  for (var j = 0; j < buttons.length; j++) {
    var button = buttons[j];
    button.hidden = false;
    button.addEventListener("click", function (event) {
      var target = event.currentTarget;
      var box = document.getElementById(target.getAttribute("data-copy"));
      if (!box) { return; }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(box.value).then(function () { copied(target); },
          function () { selectAll(box); });
      } else {
        selectAll(box);
        try { if (document.execCommand("copy")) { copied(target); } } catch (e) { /* selected: copy by hand */ }
      }
    });
  }
}());
