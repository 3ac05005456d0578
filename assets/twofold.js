// Twofold: the little script the pages use (copy codes and key, print, the password strength
// meter, "Forgot password?" keeping the username, the second step running out, local times).
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
  // "Forgot password?" carries the username typed so far, so nothing typed is lost.
  var forgot = document.getElementById("forgot-password");
  var username = document.getElementById("username");
  if (forgot && username) {
    forgot.addEventListener("click", function () {
      var url = new URL(forgot.href, location.href);
      var typed = username.value.trim();
      if (typed) { url.searchParams.set("identifier", typed); } else { url.searchParams.delete("identifier"); }
      forgot.href = url.pathname + url.search;
    });
  }

  // A second step that runs out while its page is open offers "Log in again" (keeping the
  // way on) instead of a form that no longer works.
  var step = document.getElementById("second-step");
  var over = document.getElementById("attempt-over");
  var attempt = document.getElementById("attempt");
  if (step && over && attempt) {
    var left = parseInt(step.getAttribute("data-expires-in"), 10);
    if (left >= 0 && left < 86400) {
      setTimeout(function () {
        attempt.hidden = true;
        over.hidden = false;
        var again = over.querySelector("a");
        if (again) { again.focus(); }
      }, left * 1000);
    }
  }

  // Times are written in UTC ("2 Dec 2026, 18:20 UTC"); each <time class="when"> is shown
  // in the person's own time zone, named, with the UTC time kept in its title.
  var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  document.querySelectorAll("time.when").forEach(function (el) {
    var m = /^(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}), (\d{2}):(\d{2}) UTC$/.exec(el.textContent.trim());
    if (!m || months.indexOf(m[2]) < 0) { return; }
    var at = new Date(Date.UTC(+m[3], months.indexOf(m[2]), +m[1], +m[4], +m[5]));
    el.setAttribute("datetime", at.toISOString());
    el.setAttribute("title", el.textContent.trim());
    el.textContent = at.toLocaleString(undefined, {
      day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
  });
})();
