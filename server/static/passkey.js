// sessionkit passkeys: the WebAuthn ceremonies of the login, step-up and
// account pages. The only script the server serves; every button it drives
// says what to call in its data-begin and data-finish attributes.
"use strict";

(function () {
  function decode(s) {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function encode(buf) {
    const bytes = new Uint8Array(buf);
    let bin = "";
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function status(text) {
    const el = document.getElementById("passkey-status");
    if (el) el.textContent = text;
  }

  // post sends body as JSON and returns the JSON answer; null when the
  // server sent the browser elsewhere (to confirm it is you), where it goes.
  async function post(url, body) {
    const resp = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body === undefined ? {} : body),
    });
    if (resp.redirected) {
      window.location.assign(resp.url);
      return null;
    }
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      throw new Error((data && data.detail) || "The server answered " + resp.status + ".");
    }
    return data;
  }

  function creationOptions(options) {
    const pk = options.publicKey;
    pk.challenge = decode(pk.challenge);
    pk.user.id = decode(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = decode(c.id); });
    return pk;
  }

  function requestOptions(options) {
    const pk = options.publicKey;
    pk.challenge = decode(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = decode(c.id); });
    return pk;
  }

  function credentialJSON(cred) {
    const r = cred.response;
    const out = {
      id: cred.id,
      rawId: encode(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: { clientDataJSON: encode(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      out.response.attestationObject = encode(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = encode(r.authenticatorData);
      out.response.signature = encode(r.signature);
      if (r.userHandle) out.response.userHandle = encode(r.userHandle);
    }
    return out;
  }

  async function logIn(button) {
    status("Waiting for your passkey…");
    const options = await post(button.dataset.begin);
    if (!options) return;
    const cred = await navigator.credentials.get({ publicKey: requestOptions(options) });
    const done = await post(button.dataset.finish, credentialJSON(cred));
    if (done) window.location.assign(done.redirect);
  }

  async function register(button) {
    status("Waiting for your authenticator…");
    const options = await post(button.dataset.begin);
    if (!options) return;
    const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
    const name = document.getElementById("passkey-name");
    const done = await post(button.dataset.finish, {
      name: name ? name.value.trim() : "",
      credential: credentialJSON(cred),
    });
    if (done) window.location.assign(done.redirect);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-passkey]").forEach(function (button) {
      if (!window.PublicKeyCredential) {
        button.disabled = true;
        status("This browser cannot use passkeys.");
        return;
      }
      button.addEventListener("click", function () {
        const run = button.dataset.passkey === "register" ? register : logIn;
        button.disabled = true;
        run(button).catch(function (err) {
          status(err && err.name === "NotAllowedError"
            ? "No passkey was used (cancelled, timed out, or none for this site)."
            : (err && err.message) || "The passkey did not work.");
        }).finally(function () {
          button.disabled = false;
        });
      });
    });
  });
})();
