// Twofold: the little script the pages use (Copy codes, Print, Copy key).
// Served from the binary; the pages work without it.
(function () {
  "use strict";
  // Loaded by base.html on every page; once is enough even if a page includes it again.
  if (window.twofoldScript) { return; }
  window.twofoldScript = true;
  var copy = document.getElementById("copy-codes");
  var text = document.getElementById("codes-text");
  var status = document.getElementById("copy-status");
  function done(message) {
    if (status) {
      // "Copied" is said by the button itself (and read out from here); longer advice shows.
      status.textContent = message;
      status.classList.toggle("sr-only", message === "Copied");
    }
    if (copy) {
      copy.textContent = message === "Copied" ? "Copied" : "Copy codes";
      setTimeout(function () { copy.textContent = "Copy codes"; }, 2500);
    }
  }
  function fallback() {
    // Older browsers: select the text so Ctrl+C / long-press copies it.
    text.classList.remove("sr-only");
    text.removeAttribute("aria-hidden");
    text.focus();
    text.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    done(ok ? "Copied" : "Press Ctrl+C (or long-press and Copy) to copy the selected codes");
  }
  if (copy && text) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text.value).then(function () { done("Copied"); }, fallback);
      } else {
        fallback();
      }
    });
  }
  // "Copy key" on the authentication-app set-up page: the key without its spaces.
  var copyKey = document.getElementById("copy-key");
  var key = document.getElementById("totp-secret");
  var keyStatus = document.getElementById("copy-key-status");
  if (copyKey && key && navigator.clipboard && window.isSecureContext) {
    copyKey.hidden = false;
    copyKey.addEventListener("click", function () {
      navigator.clipboard.writeText(key.textContent.replace(/\s+/g, "")).then(
        function () { if (keyStatus) { keyStatus.textContent = "Key copied"; } },
        function () { if (keyStatus) { keyStatus.textContent = "Select the key and copy it"; } });
    });
  }
  var print = document.getElementById("print-codes");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
  // Password strength as it is typed (sign-up, change, recovery): the server scores it
  // the way it will judge it (zxcvbn with the username and the site's names), so the
  // meter and the answer to the form always agree.
  var words = ["Very weak", "Weak", "Weak", "Good", "Strong"];
  Array.prototype.forEach.call(document.querySelectorAll("input[data-strength]"), function (input) {
    var out = document.getElementById(input.id === "password" ? "password-strength" :
      (document.getElementById("new-strength") ? "new-strength" : "password-strength"));
    if (!out || !window.fetch) { return; }
    var timer = null;
    var asked = 0;
    function show() {
      var value = input.value;
      if (!value) { out.hidden = true; out.textContent = ""; return; }
      var nameField = document.getElementById("username");
      var username = input.getAttribute("data-username") || (nameField ? nameField.value : "");
      var mine = ++asked;
      fetch("/api/v1/password-strength", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ password: value, username: username || null }),
        credentials: "same-origin"
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
        if (!body || mine !== asked) { return; }
        var ok = body.acceptable;
        out.hidden = false;
        out.setAttribute("data-level", ok ? "ok" : "weak");
        out.textContent = "Strength: " + words[body.score] +
          (ok ? "" : value.length < 8 ? " (use at least 8 characters)" : " (add more words or make it less predictable)");
      }, function () { out.hidden = true; });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(show, 250);
    });
  });
})();
