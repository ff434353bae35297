// Podium widget embed: <script src="https://PODIUM/p/ORG/PROGRAM/widget.js" data-board="division:ID" async></script>
// Optional: data-theme="dark", data-accent="0b5cad", data-rows="10", data-t="READ TOKEN" (unlisted programs).
(function () {
  var script = document.currentScript;
  if (!script) return;
  var src = new URL(script.src);
  var params = new URLSearchParams();
  ["board", "theme", "accent", "rows", "t"].forEach(function (name) {
    var value = script.getAttribute("data-" + name);
    if (value) params.set(name, value);
  });
  var path = src.pathname.replace(/widget\.js$/, "widget");
  var frame = document.createElement("iframe");
  frame.src = src.origin + path + "?" + params.toString();
  frame.title = script.getAttribute("data-title") || "Leaderboard";
  frame.style.border = "0";
  frame.style.width = script.getAttribute("data-width") || "100%";
  frame.style.maxWidth = "480px";
  frame.height = "420";
  frame.setAttribute("loading", "lazy");
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== src.origin || event.source !== frame.contentWindow) return;
    var height = event.data && Number(event.data.height);
    if (height > 0 && height < 5000) frame.height = String(Math.ceil(height));
  });
})();
