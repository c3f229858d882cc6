# ruff: noqa: E501 (inline JavaScript and CSS read better unwrapped)
"""Merge Link's script and page, inline and dependency-free so they work offline and need no build."""

INITIALIZE_JS = r"""/* Merge Link (sandbox): same interface as Merge's initialize.js. */
(function () {
  "use strict";
  var script = document.currentScript;
  var sandboxOrigin = new URL(script ? script.src : window.location.href).origin;
  var config = null;
  var overlay = null;
  var frame = null;

  function closeModal() {
    if (overlay && overlay.parentNode) { overlay.parentNode.removeChild(overlay); }
    overlay = null;
    frame = null;
  }

  function call(name) {
    var args = Array.prototype.slice.call(arguments, 1);
    if (config && typeof config[name] === "function") { config[name].apply(null, args); }
  }

  window.addEventListener("message", function (event) {
    // Only the sandbox's own Link frame may drive the callbacks.
    if (event.origin !== sandboxOrigin || !frame || event.source !== frame.contentWindow) { return; }
    var msg = event.data || {};
    if (msg.source !== "merge-sandbox-link") { return; }
    if (msg.type === "success") {
      closeModal();
      call("onSuccess", msg.public_token, { integration: msg.integration, category: msg.category });
    } else if (msg.type === "exit") {
      closeModal();
      call("onExit");
    } else if (msg.type === "validation_error") {
      call("onValidationError", [{ type: "link_token", title: "Invalid link token", detail: msg.message }]);
    }
  });

  window.MergeLink = {
    initialize: function (options) {
      config = options || {};
      if (!config.linkToken) {
        setTimeout(function () {
          call("onValidationError", [{ type: "link_token", title: "Missing link token", detail: "linkToken is required" }]);
        }, 0);
        return;
      }
      setTimeout(function () { call("onReady"); }, 0);
    },
    openLink: function () {
      if (!config || !config.linkToken) { throw new Error("Call MergeLink.initialize({linkToken, ...}) first."); }
      if (overlay) { return; }
      overlay = document.createElement("div");
      overlay.id = "merge-link-overlay";
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-modal", "true");
      Object.assign(overlay.style, {
        position: "fixed", top: "0", left: "0", right: "0", bottom: "0", zIndex: "2147483647",
        background: "rgba(17, 24, 39, 0.6)", display: "flex", alignItems: "center", justifyContent: "center"
      });
      frame = document.createElement("iframe");
      frame.id = "merge-link-iframe";
      frame.title = "Merge Link";
      frame.src = sandboxOrigin + "/link/" + encodeURIComponent(config.linkToken) +
        "?parent_origin=" + encodeURIComponent(window.location.origin);
      Object.assign(frame.style, {
        width: "420px", height: "560px", maxWidth: "95vw", maxHeight: "95vh", border: "0",
        borderRadius: "12px", background: "#ffffff", boxShadow: "0 20px 50px rgba(0,0,0,0.35)"
      });
      overlay.appendChild(frame);
      document.body.appendChild(overlay);
    },
    closeLink: closeModal
  };
})();
"""

PAGE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#111827;background:#fff}
header{display:flex;justify-content:space-between;align-items:center;padding:16px 20px;border-bottom:1px solid #e5e7eb}
h1{font-size:17px;margin:0}
main{padding:20px}
#close{border:0;background:none;font-size:24px;line-height:1;cursor:pointer;color:#6b7280}
.providers{display:grid;gap:10px}
.providers button{display:flex;align-items:center;gap:10px;padding:12px;border:1px solid #d1d5db;border-radius:8px;
background:#fff;font-size:15px;cursor:pointer;text-align:left}
.dot{width:14px;height:14px;border-radius:50%;display:inline-block}
label{display:block;font-size:13px;font-weight:600;margin:14px 0 4px}
input{width:100%;box-sizing:border-box;padding:9px 10px;border:1px solid #d1d5db;border-radius:6px;font-size:14px}
input[readonly]{background:#f3f4f6;color:#4b5563}
#connect{margin-top:20px;width:100%;padding:11px;border:0;border-radius:8px;background:#111827;color:#fff;
font-size:15px;cursor:pointer}
#connect[disabled]{opacity:.6}
#error{color:#b91c1c;background:#fef2f2;border:1px solid #fecaca;border-radius:6px;padding:8px 10px;margin-top:14px}
#success{color:#065f46;background:#ecfdf5;border:1px solid #a7f3d0;border-radius:6px;padding:12px;font-weight:600}
.muted{color:#6b7280;font-size:13px}
.back{background:none;border:0;color:#2563eb;cursor:pointer;padding:0;margin-bottom:8px;font-size:13px}
[hidden]{display:none!important}
"""

PAGE_JS = r"""
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("link-config").textContent);
  var chosen = cfg.relink ? cfg.relink.integration : cfg.integration;
  var $ = function (id) { return document.getElementById(id); };

  function post(message) {
    if (cfg.magic || !cfg.parent_origin || window.parent === window) { return; }
    message.source = "merge-sandbox-link";
    window.parent.postMessage(message, cfg.parent_origin);
  }

  function showForm(slug) {
    chosen = slug;
    var item = cfg.integrations.filter(function (i) { return i.slug === slug; })[0];
    $("picker").hidden = true;
    $("form").hidden = false;
    $("provider-name").textContent = item ? item.name : slug;
    $("back").hidden = Boolean(cfg.integration || cfg.relink);
    $(cfg.relink ? "username" : "tenant").focus();
  }

  if ($("close")) {
    $("close").addEventListener("click", function () { post({ type: "exit" }); });
  }
  if (cfg.error) {
    post({ type: "validation_error", message: cfg.error });
    return;
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-slug]"), function (button) {
    button.addEventListener("click", function () { showForm(button.getAttribute("data-slug")); });
  });
  $("back").addEventListener("click", function () { $("form").hidden = true; $("picker").hidden = false; });
  if (chosen) { showForm(chosen); }

  $("form").addEventListener("submit", function (event) {
    event.preventDefault();
    $("error").hidden = true;
    $("connect").disabled = true;
    fetch("/link/" + encodeURIComponent(cfg.token) + "/complete", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        tenant: $("tenant").value, username: $("username").value, password: $("password").value,
        integration: chosen
      })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        $("error").textContent = result.body.detail || "Something went wrong.";
        $("error").hidden = false;
        $("connect").disabled = false;
        return;
      }
      $("form").hidden = true;
      $("success").hidden = false;
      setTimeout(function () {
        post({ type: "success", public_token: result.body.public_token, integration: result.body.integration,
               category: result.body.category });
      }, 700);
    }).catch(function () {
      $("error").textContent = "Could not reach Merge. Try again.";
      $("error").hidden = false;
      $("connect").disabled = false;
    });
  });
})();
"""
