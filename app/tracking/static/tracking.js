// The tracking page keeps itself up to date: it asks /t/<token>.json every few seconds and reloads
// when the order has moved on (or the link has died), so what is shown is always the server's page.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-poll-url");
  var every = parseInt(body.getAttribute("data-poll-ms"), 10) || 20000;
  var state = body.getAttribute("data-state");
  if (!url || !window.fetch) { return; }
  function check() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 404 || response.status === 410) { window.location.reload(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data && data.state !== state) { window.location.reload(); return; }
        window.setTimeout(check, every);
      })
      .catch(function () { window.setTimeout(check, every); });
  }
  window.setTimeout(check, every);
})();
