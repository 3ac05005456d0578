// Twofold: passkeys on the pages — adding one, the second step with one, "Log in with a
// passkey" and passkey autofill on the login page. The server makes the options and judges
// the answer; this script hands the options to navigator.credentials and posts what the
// authenticator gave, as JSON, in the form's hidden "credential" field.
// Loaded (deferred) only by the pages with a passkey form: form[data-passkey].
(function () {
  "use strict";
  if (window.twofoldPasskeys) { return; }
  window.twofoldPasskeys = true;
  var supported = !!(window.PublicKeyCredential && navigator.credentials && window.isSecureContext);

  function fromB64u(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function toB64u(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function withIds(list) {
    return (list || []).map(function (d) { return Object.assign({}, d, { id: fromB64u(d.id) }); });
  }
  // The options as the browser wants them (binary fields from base64url).
  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(o);
    }
    return Object.assign({}, o, {
      challenge: fromB64u(o.challenge),
      user: Object.assign({}, o.user, { id: fromB64u(o.user.id) }),
      excludeCredentials: withIds(o.excludeCredentials)
    });
  }
  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(o);
    }
    return Object.assign({}, o, {
      challenge: fromB64u(o.challenge),
      allowCredentials: withIds(o.allowCredentials)
    });
  }
  // What the authenticator gave, in WebAuthn Level 3's JSON form.
  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      try { return cred.toJSON(); } catch (e) { /* older browsers: by hand below */ }
    }
    var r = cred.response, out = {
      id: cred.id,
      rawId: toB64u(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64u(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      if (r.userHandle) { out.response.userHandle = toB64u(r.userHandle); }
    }
    return out;
  }
  // What went wrong on the browser's side, in words: a cancelled or timed-out dialog is the
  // common case and not the person's fault.
  function browserError(e, creating) {
    var name = e && e.name;
    if (name === "NotAllowedError" || name === "AbortError") {
      return creating
        ? "The passkey wasn't created: the request was cancelled or timed out. Try again when you're ready."
        : "The passkey request was cancelled or timed out. Try again, or choose another way below.";
    }
    if (name === "InvalidStateError" && creating) {
      return "This device or security key already holds a passkey for your account. Use another one, or remove the old passkey first.";
    }
    if (name === "SecurityError") {
      return "Passkeys can't be used on this address. Open the site at its usual address and try again.";
    }
    return creating
      ? "The passkey couldn't be created. Try again, or set up an authentication app instead."
      : "The passkey couldn't be used. Try again, or choose another way below.";
  }
  function show(form, id, text) {
    var el = form.querySelector("#" + id) || document.getElementById(id);
    if (!el) { return; }
    el.textContent = text;
    el.hidden = !text;
  }
  function post(form, cred) {
    form.elements.credential.value = JSON.stringify(credentialJSON(cred));
    form.submit();
  }
  function unsupported(form) {
    var note = form.querySelector("#passkey-unsupported");
    if (note) { note.hidden = false; }
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
  }

  // Adding a passkey: a name first, so nothing is made on the authenticator in vain.
  function adding(form) {
    if (!supported) { unsupported(form); return; }
    var name = form.elements.name, busy = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (busy) { return; }
      var typed = name.value.trim();
      if (!typed) {
        show(form, "passkey-error", "Give your passkey a name, such as \u201cWork laptop\u201d.");
        name.setAttribute("aria-invalid", "true");
        name.focus();
        return;
      }
      busy = true;
      show(form, "passkey-error", "");
      name.removeAttribute("aria-invalid");
      var options = JSON.parse(form.getAttribute("data-options"));
      navigator.credentials.create({ publicKey: creationOptions(options) }).then(function (cred) {
        post(form, cred);
      }, function (e) {
        busy = false;
        show(form, "passkey-error", browserError(e, true));
      });
    });
  }

  // The second step: the options came with the page.
  function stepping(form) {
    if (!supported) { unsupported(form); return; }
    var busy = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (busy) { return; }
      var raw = form.getAttribute("data-options");
      if (!raw) { return; }
      busy = true;
      show(form, "passkey-error", "");
      navigator.credentials.get({ publicKey: requestOptions(JSON.parse(raw)) }).then(function (cred) {
        post(form, cred);
      }, function (e) {
        busy = false;
        show(form, "passkey-error", browserError(e, false));
      });
    });
  }

  // The login page: passkey autofill (the browser lists passkeys in the username field's
  // suggestions) and the "Log in with a passkey" button. Options come fresh from the API
  // for each; the button cancels a waiting autofill first.
  function loggingIn(form) {
    if (!supported) { return; }
    form.hidden = false;
    var waiting = null;
    function options() {
      return fetch("/api/v1/sessions/passkey/options", { method: "POST", credentials: "omit" })
        .then(function (res) {
          if (res.status === 429) {
            throw { name: "RateLimited", retry: res.headers.get("Retry-After") };
          }
          if (!res.ok) { throw { name: "ServerError" }; }
          return res.json();
        });
    }
    function ask(mediation) {
      if (waiting) { waiting.abort(); }
      var controller = new AbortController();
      waiting = controller;
      return options().then(function (o) {
        form.elements.flow.value = o.flow;
        var request = { publicKey: requestOptions(o.publicKey), signal: controller.signal };
        if (mediation) { request.mediation = mediation; }
        return navigator.credentials.get(request);
      }).then(function (cred) {
        if (cred) { post(form, cred); }
      });
    }
    // Not right after a passkey was refused: the person is reading why.
    if (form.getAttribute("data-autofill") !== "off" && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        if (yes) {
          ask("conditional").catch(function () { /* autofill closed or replaced: nothing to say */ });
        }
      });
    }
    var busy = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (busy) { return; }
      busy = true;
      show(form, "passkey-error", "");
      ask(null).then(function () { busy = false; }, function (e) {
        busy = false;
        if (e && e.name === "RateLimited") {
          show(form, "passkey-error", "Too many passkey requests from here. Wait " + (e.retry || "a few") + " seconds and try again, or log in with your password.");
        } else if (e && e.name === "ServerError") {
          show(form, "passkey-error", "Something went wrong on our side. Try again in a moment, or log in with your password.");
        } else {
          show(form, "passkey-error", browserError(e, false).replace("choose another way below", "log in with your password"));
        }
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey]"), function (form) {
    var kind = form.getAttribute("data-passkey");
    if (kind === "create") { adding(form); }
    if (kind === "get") { stepping(form); }
    if (kind === "login") { loggingIn(form); }
  });
})();
