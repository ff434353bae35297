// Keeps a board page current without a reload: every 30 s it asks for the same URL (the browser sends the
// ETag it holds, so an unchanged board is a 304 with no body) and swaps in the new board.
(function () {
  var board = document.getElementById("board");
  if (!board || !window.fetch || !window.DOMParser) return;
  var seconds = Number(board.getAttribute("data-refresh")) || 30;
  function refresh() {
    if (document.hidden) return;
    fetch(location.href, { cache: "no-cache", credentials: "same-origin" })
      .then(function (r) { return r.status === 200 ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("board");
        var now = document.getElementById("board");
        if (next && now && next.innerHTML !== now.innerHTML) now.replaceWith(document.importNode(next, true));
      })
      .catch(function () {});
  }
  setInterval(refresh, seconds * 1000);
})();
