(function () {
  "use strict";
  var figures = Array.prototype.slice.call(document.querySelectorAll("#plots figure"));
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");

  // Pictures get their `src` only near the screen, and lose it far from
  // it: Chromium builds every SVG <img> of a page, `loading="lazy"` or not,
  // at a cost that grows with their number (2,000 took minutes).
  var near = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      var img = entry.target;
      if (entry.isIntersecting) {
        if (!img.hasAttribute("src")) { img.setAttribute("src", img.getAttribute("data-src")); }
      } else if (img.hasAttribute("src")) {
        img.removeAttribute("src");
      }
    });
  }, { rootMargin: "1200px 0px" });
  figures.forEach(function (figure, index) {
    var img = figure.querySelector("img");
    // The first screenful at once, so the page's first paint has them.
    if (index < 24) { img.setAttribute("src", img.getAttribute("data-src")); }
    near.observe(img);
  });

  // The filter: every word typed must appear in the figure's step and key.
  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    figures.forEach(function (figure) {
      var text = figure.getAttribute("data-k");
      var match = words.every(function (w) { return text.indexOf(w) !== -1; });
      figure.hidden = !match;
      if (match) { count += 1; }
    });
    Array.prototype.forEach.call(document.querySelectorAll("#plots .grid"), function (grid) {
      var any = grid.querySelector("figure:not([hidden])") !== null;
      grid.hidden = !any;
      grid.previousElementSibling.hidden = !any;
    });
    shown.textContent = count.toLocaleString("en-US") + " of " + figures.length.toLocaleString("en-US");
  }
  if (filter) {
    filter.addEventListener("input", applyFilter);
  }

  // A click shows the plot large; arrow keys go to the next or previous
  // plot that the filter shows; Escape or a click outside closes.
  var viewer = document.getElementById("viewer");
  var big = document.getElementById("viewer-img");
  var caption = document.getElementById("viewer-caption");
  var open = document.getElementById("viewer-open");
  var current = -1;
  function show(index) {
    var figure = figures[index];
    if (!figure) { return; }
    current = index;
    var src = figure.querySelector("img").getAttribute("data-src");
    big.src = src;
    big.alt = figure.querySelector("img").alt;
    open.href = src;
    caption.textContent = figure.querySelector("img").alt;
    if (!viewer.open) { viewer.showModal(); }
  }
  function step(by) {
    for (var i = current + by; i >= 0 && i < figures.length; i += by) {
      if (!figures[i].hidden) { show(i); return; }
    }
  }
  var plots = document.getElementById("plots");
  plots.addEventListener("click", function (event) {
    var figure = event.target.closest("figure");
    if (figure && !event.target.closest("a")) { show(figures.indexOf(figure)); }
  });
  viewer.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight") { step(1); event.preventDefault(); }
    if (event.key === "ArrowLeft") { step(-1); event.preventDefault(); }
  });
  viewer.addEventListener("click", function (event) {
    if (event.target === viewer) { viewer.close(); }
  });
  viewer.addEventListener("close", function () { big.removeAttribute("src"); });

  // For tests and the curious: milliseconds from navigation to this point.
  document.documentElement.setAttribute("data-ready", String(Math.round(performance.now())));
})();
