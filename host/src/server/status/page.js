// The status page's only script (served as /static/page.js; the page's CSP
// allows no other). Every `data-refresh` seconds it fetches the visible
// rows as an HTML fragment from the URL in `data-rows` (GET /rows with the
// page's own query) and swaps the summary, rows, pager and time in place,
// so the filters, scroll position and focus stay. Without script the page
// refreshes itself instead (a <noscript> meta refresh).
(function () {
  "use strict";
  var list = document.getElementById("list");
  if (!list) return;
  var url = list.getAttribute("data-rows");
  var seconds = Math.max(1, Number(list.getAttribute("data-refresh")) || 5);
  var parts = ["updated", "summary", "problem", "rows", "pager"];
  var busy = false;
  var swaps = 0;

  function swap(doc) {
    parts.forEach(function (id) {
      var fresh = doc.getElementById(id);
      var old = document.getElementById(id);
      if (fresh && old) {
        old.replaceWith(document.adoptNode(fresh));
      } else if (old && id === "problem") {
        old.remove();
      } else if (fresh && id === "problem") {
        list.parentNode.insertBefore(document.adoptNode(fresh), list);
      }
    });
    swaps += 1;
    list.setAttribute("data-swaps", String(swaps));
  }

  function refresh() {
    if (busy) return;
    busy = true;
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) {
        // Signed out (or the session ended): the page itself signs in.
        if (response.status === 401) {
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (text) {
        if (text !== null) swap(new DOMParser().parseFromString(text, "text/html"));
      })
      .catch(function () {
        // Unreachable for now: the next tick tries again.
      })
      .then(function () {
        busy = false;
      });
  }

  window.setInterval(refresh, seconds * 1000);
})();
