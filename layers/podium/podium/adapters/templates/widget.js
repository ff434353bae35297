// The widget inside its iframe: refreshes from the board's JSON every 30 s and tells the page that embeds it
// (embed.js) how tall it is, so the iframe never scrolls.
(function () {
  var w = document.getElementById("widget");
  if (!w) return;
  var limit = Number(w.getAttribute("data-limit")) || 10;
  function fmt(x) { return (Math.round(x * 10) / 10).toLocaleString("en-US", { maximumFractionDigits: 1 }); }
  function size() {
    if (window.parent !== window) {
      // The widget's own height: the document's scrollHeight is never less than the iframe, so it could not shrink.
      var height = Math.ceil(w.getBoundingClientRect().height);
      window.parent.postMessage({ podiumWidget: location.pathname + location.search, height: height }, "*");
    }
  }
  function refresh() {
    if (!window.fetch) return;
    fetch(w.getAttribute("data-json"), { cache: "no-cache", credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) {
        var ol = document.getElementById("rows");
        var rows = data.standings.slice(0, limit);
        ol.textContent = "";
        rows.forEach(function (s) {
          var li = document.createElement("li");
          if (s.rank === 1) li.className = "first";
          [String(s.rank), s.name, fmt(s.points)].forEach(function (v, i) {
            var span = document.createElement("span");
            span.className = ["rank", "name", "pts"][i];
            span.textContent = v;
            li.appendChild(span);
          });
          ol.appendChild(li);
        });
        var more = data.standings.length - rows.length;
        document.getElementById("more").textContent = more > 0 ? "and " + more + " more" : "";
        size();
      })
      .catch(function () {});
  }
  size();
  window.addEventListener("resize", size);
  setInterval(refresh, 30000);
})();
