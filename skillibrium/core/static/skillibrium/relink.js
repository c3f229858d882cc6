// Connect and Relink: ask our server for a link token, open Merge Link, hand the public token back.
// Each button[data-merge-link] names its start URL, the form that completes it, and where errors show.
(function () {
  document.querySelectorAll("button[data-merge-link]").forEach(function (button) {
    const complete = document.getElementById(button.dataset.complete);
    const errorBox = document.getElementById(button.dataset.error);
    if (!complete || !errorBox) return;

    function showError(text) {
      errorBox.textContent = text;
      errorBox.hidden = false;
      button.disabled = false;
    }

    button.addEventListener("click", async function () {
      button.disabled = true;
      errorBox.hidden = true;
      const csrf = complete.querySelector("[name=csrfmiddlewaretoken]").value;
      let response;
      try {
        response = await fetch(button.dataset.startUrl, { method: "POST", headers: { "X-CSRFToken": csrf } });
      } catch (e) {
        return showError("Skillibrium could not be reached. Check your connection and try again.");
      }
      const body = await response.json().catch(() => ({}));
      if (!response.ok || !body.link_token) {
        return showError(body.error || "Merge Link could not be opened. Please try again.");
      }
      if (!window.MergeLink) {
        return showError("Merge Link did not load. Check that your network allows Merge.dev, then reload the page.");
      }
      window.MergeLink.initialize({
        linkToken: body.link_token,
        onReady: function () { window.MergeLink.openLink(); },
        onSuccess: function (publicToken) {
          complete.querySelector("[name=public_token]").value = publicToken;
          complete.submit();
        },
        onExit: function () { button.disabled = false; },
      });
    });
  });
})();
