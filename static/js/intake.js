// The staff entry form (templates/staff/intake.html): the SP4N-LAPOR! fieldset shows only
// while that channel is chosen, and while hidden it is disabled, so what was typed there is
// not sent (and comes back if the channel is chosen again). Without this script it is always
// there, labelled as such, and the server refuses LAPOR! values on another channel.
(function () {
  var form = document.querySelector("form[data-intake]");
  if (!form) return;
  var channel = form.querySelector("#channel");
  var lapor = form.querySelector("#lapor-fields");
  if (!channel || !lapor) return;
  function sync() {
    var wanted = channel.value === lapor.getAttribute("data-channel");
    var invalid = lapor.querySelector("[aria-invalid='true'], .error-message");
    lapor.hidden = !wanted && !invalid;  // a refused LAPOR! field stays in view
    lapor.disabled = lapor.hidden;
  }
  channel.addEventListener("change", sync);
  sync();
})();

// The words to read out and the consent box for the counter and the phone, the note on what is
// recorded instead for every other channel: each shows while its channels are chosen (both
// while none is). The server renders the same for the channel it was sent and decides by it.
(function () {
  var form = document.querySelector("form[data-intake]");
  if (!form) return;
  var channel = form.querySelector("#channel");
  var blocks = form.querySelectorAll("[data-consent]");
  if (!channel || !blocks.length) return;
  var readOut = (form.getAttribute("data-read-out") || "").split(" ");
  function sync() {
    var kind = !channel.value ? "" : readOut.indexOf(channel.value) >= 0 ? "read_out" : "unasked";
    for (var i = 0; i < blocks.length; i++) {
      blocks[i].hidden = kind !== "" && blocks[i].getAttribute("data-consent") !== kind;
    }
  }
  channel.addEventListener("change", sync);
  sync();
})();

// The receipt page's print button (without the script, the browser's own Print command).
(function () {
  var button = document.querySelector("button[data-print]");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
