// The TV page: rotates through its boards (and through pages of a board too long for the screen), fetching each
// board's JSON as it comes up. Rows are kept by id and moved, not rebuilt, so only what changed animates:
// a row that changed rank glides to its place and flashes, and a new leader is announced.
(function () {
  var tv = document.getElementById("tv");
  if (!tv || !window.fetch) return;
  var boards = JSON.parse(tv.getAttribute("data-boards"));
  var metrics = JSON.parse(tv.getAttribute("data-metrics"));
  var seconds = Math.max(3, Number(tv.getAttribute("data-seconds")) || 20);
  var rowsEl = document.getElementById("rows");
  var boardEl = document.getElementById("board");
  var seen = {}; // board ref -> {ranks: {key: rank}, leader: key}
  var at = { board: 0, page: 0, pages: 1 };

  function text(el, value) { if (el.textContent !== value) el.textContent = value; }
  function fmt(x) {
    if (x === null || x === undefined) return "\u2013";
    var r = Math.round(x * 10) / 10;
    return r.toLocaleString("en-US", { maximumFractionDigits: 1 });
  }
  function keyOf(s, i) { return s.id === null ? "anon-" + i : s.id; }

  function layout(count) {
    // The same sizes as the server's first render (page_routes.tv_layout): a row per place, at least 28 px text.
    // In 1/1080ths of the screen's height (--u), as the server writes them: a resized screen is redrawn by CSS at
    // once, not only once the next fetch has answered.
    var perPage = Math.max(1, Math.min(count, 16));
    var rowh = Math.min(100, 740 / perPage - 8);
    var font = Math.max(30, Math.min(52, rowh * 0.5));
    function u(x) { return "calc(" + x.toFixed(1) + " * var(--u))"; }
    boardEl.style.setProperty("--rowh", u(rowh));
    boardEl.style.setProperty("--rowfont", u(font));
    boardEl.style.setProperty("--gap", u(8));
    return perPage;
  }

  function header(data) {
    var head = document.getElementById("head");
    var cells = ["Rank", data.board.indexOf("division") === 0 ? "Team" : data.board === "program" ? "Division" : "Name"];
    var shown = metrics.filter(function (k) { return data.labels[k]; });
    shown.forEach(function (k) { cells.push(data.labels[k].label); });
    cells.push("Points");
    while (head.children.length > cells.length) head.removeChild(head.lastChild);
    cells.forEach(function (c, i) {
      var span = head.children[i] || head.appendChild(document.createElement("span"));
      span.className = i > 1 ? "num" : "";
      text(span, c);
    });
    boardEl.style.setProperty("--cols", "1.2fr 6fr" + " 2.2fr".repeat(shown.length) + " 2.4fr");
    return shown;
  }

  function render(ref, data) {
    var shown = header(data);
    var perPage = layout(data.standings.length);
    at.pages = Math.max(1, Math.ceil(data.standings.length / perPage));
    if (at.page >= at.pages) at.page = 0;
    var rows = data.standings.slice(at.page * perPage, (at.page + 1) * perPage);
    var before = seen[ref];
    var tops = {};
    Array.prototype.forEach.call(rowsEl.children, function (el) { tops[el.getAttribute("data-id")] = el.getBoundingClientRect().top; });
    var keep = {};
    Array.prototype.forEach.call(rowsEl.querySelectorAll(".row"), function (el) { keep[el.getAttribute("data-id")] = el; });
    var empty = rowsEl.querySelector(".empty");
    if (empty) rowsEl.removeChild(empty);
    var order = [];
    rows.forEach(function (s, i) {
      var key = keyOf(s, at.page * perPage + i);
      var el = keep[key];
      if (!el) { el = document.createElement("div"); el.setAttribute("data-id", key); }
      delete keep[key];
      el.className = "row" + (s.rank === 1 ? " first" : "");
      var values = [String(s.rank), s.name].concat(shown.map(function (k) { return fmt(s.metrics[k] ? s.metrics[k].value : null); }), [fmt(s.points)]);
      while (el.children.length > values.length) el.removeChild(el.lastChild);
      values.forEach(function (v, j) {
        var span = el.children[j] || el.appendChild(document.createElement("span"));
        span.className = j === 0 ? "rank" : j === 1 ? "name" : j === values.length - 1 ? "num points" : "num";
        text(span, v);
      });
      var old = before && before.ranks[key];
      if (old && old !== s.rank) {
        var up = s.rank < old;
        el.classList.add(up ? "moved-up" : "moved-down");
        var arrow = document.createElement("span");
        arrow.className = "move " + (up ? "up" : "down");
        arrow.textContent = (up ? "\u25b2" : "\u25bc") + Math.abs(old - s.rank);
        el.children[0].appendChild(arrow);
        setTimeout(function () { el.classList.remove("moved-up", "moved-down"); }, 4000);
      }
      order.push(el);
    });
    Object.keys(keep).forEach(function (k) { rowsEl.removeChild(keep[k]); });
    order.forEach(function (el) { rowsEl.appendChild(el); });
    order.forEach(function (el) {
      var was = tops[el.getAttribute("data-id")];
      if (was === undefined) return;
      var dy = was - el.getBoundingClientRect().top;
      if (!dy) return;
      el.style.transition = "none";
      el.style.transform = "translateY(" + dy + "px)";
      requestAnimationFrame(function () { requestAnimationFrame(function () { el.style.transition = ""; el.style.transform = ""; }); });
    });
    if (!rows.length) {
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = "No scores yet this period.";
      rowsEl.appendChild(p);
    }
    var leader = data.standings.length ? keyOf(data.standings[0], 0) : null;
    var banner = document.getElementById("leader");
    if (before && leader && before.leader && before.leader !== leader) {
      banner.textContent = "New leader: " + data.standings[0].name;
      setTimeout(function () { banner.textContent = ""; }, seconds * 1000);
    }
    var ranks = {};
    data.standings.forEach(function (s, i) { ranks[keyOf(s, i)] = s.rank; });
    seen[ref] = { ranks: ranks, leader: leader };
    text(document.getElementById("title"), data.name + (at.pages > 1 ? " (" + (at.page + 1) + "/" + at.pages + ")" : ""));
    text(document.getElementById("period"), data.period_name);
    var dots = document.getElementById("dots").children;
    Array.prototype.forEach.call(dots, function (d, i) { d.className = i === at.board ? "on" : ""; });
  }

  function show() {
    var board = boards[at.board];
    fetch(board.url, { cache: "no-cache", credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) { render(board.ref, data); })
      .catch(function () {});
  }

  function step() {
    if (at.page + 1 < at.pages) { at.page += 1; }
    else {
      var next = (at.board + 1) % boards.length;
      if (next !== at.board) { rowsEl.textContent = ""; }
      at.board = next; at.page = 0;
    }
    show();
  }

  show();
  setInterval(step, seconds * 1000);
  window.addEventListener("resize", show);
})();
