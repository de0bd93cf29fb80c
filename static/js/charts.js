/* financedash: the read-out of the server-drawn line charts.
 * Pointing at a chart (mouse, pen or a finger) shows the nearest day's date and each
 * line's value there; with the keyboard, focus the chart and use the arrow keys (Home and
 * End jump to the ends, Escape hides it). The server sends the days and the amounts, already
 * formatted as the page formats them, in the figure's data-hover attribute (JSON): nothing
 * is computed or formatted here. No inline script or style: positions are set through the
 * CSSOM and SVG attributes, which the Content-Security-Policy allows. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";

  function nearest(points, percent) {
    // The points are in date order, so their x too: a binary search.
    var lo = 0, hi = points.length - 1;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (Number(points[mid][0]) < percent) lo = mid; else hi = mid;
    }
    return Math.abs(Number(points[hi][0]) - percent) < Math.abs(Number(points[lo][0]) - percent) ? hi : lo;
  }

  function setup(figure) {
    if (figure.dataset.hoverReady) return;
    var data;
    try { data = JSON.parse(figure.dataset.hover); } catch (e) { return; }
    var svg = figure.querySelector("svg.line-chart");
    if (!svg || !data.points || !data.points.length) return;
    figure.dataset.hoverReady = "1";

    var cursor = document.createElementNS(SVG, "line");
    cursor.setAttribute("class", "hover-line");
    cursor.setAttribute("y1", data.top + "%");
    cursor.setAttribute("y2", data.bottom + "%");
    cursor.setAttribute("visibility", "hidden");
    svg.appendChild(cursor);
    var dots = data.series.map(function (series) {
      var dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("class", "hover-dot chart-" + series.style);
      dot.setAttribute("r", "4");
      dot.setAttribute("visibility", "hidden");
      svg.appendChild(dot);
      return dot;
    });

    var tip = document.createElement("div");
    tip.className = "chart-tip";
    tip.hidden = true;
    tip.setAttribute("role", "status");
    figure.appendChild(tip);

    var current = -1;

    function show(index) {
      current = index;
      var point = data.points[index];
      var x = point[0] + "%";
      cursor.setAttribute("x1", x);
      cursor.setAttribute("x2", x);
      cursor.setAttribute("visibility", "visible");
      tip.textContent = "";
      var day = document.createElement("strong");
      day.className = "chart-tip-date";
      day.textContent = point[1];
      tip.appendChild(day);
      var list = document.createElement("dl");
      point[2].forEach(function (entry, i) {
        var dot = dots[i];
        if (entry[0] === null) {
          dot.setAttribute("visibility", "hidden");
        } else {
          dot.setAttribute("cx", x);
          dot.setAttribute("cy", entry[0] + "%");
          dot.setAttribute("visibility", "visible");
        }
        if (entry[1] === null) return;
        var row = document.createElement("div");
        var term = document.createElement("dt");
        var swatch = document.createElement("span");
        swatch.className = "swatch chart-" + data.series[i].style;
        swatch.setAttribute("aria-hidden", "true");
        term.append(swatch, data.series[i].label);
        var value = document.createElement("dd");
        value.className = "num";
        value.textContent = entry[1];
        row.append(term, value);
        list.appendChild(row);
      });
      tip.appendChild(list);
      tip.hidden = false;
      // Beside the cursor, on the side with more room, inside the figure.
      var width = svg.getBoundingClientRect().width;
      var left = Number(point[0]) / 100 * width;
      var tipWidth = tip.offsetWidth;
      var place = left > width / 2 ? left - tipWidth - 12 : left + 12;
      tip.style.left = Math.max(0, Math.min(place, width - tipWidth)) + "px";
    }

    function hide() {
      current = -1;
      tip.hidden = true;
      cursor.setAttribute("visibility", "hidden");
      dots.forEach(function (dot) { dot.setAttribute("visibility", "hidden"); });
    }

    function follow(evt) {
      var box = svg.getBoundingClientRect();
      if (!box.width) return;
      show(nearest(data.points, (evt.clientX - box.left) / box.width * 100));
    }

    svg.addEventListener("pointermove", follow);
    svg.addEventListener("pointerdown", follow);
    svg.addEventListener("pointerleave", function (evt) {
      // A finger lifted leaves the values showing (they were what it asked for); a mouse
      // moving away takes them away.
      if (evt.pointerType === "mouse" && document.activeElement !== svg) hide();
    });
    // Focus from the keyboard starts at the last day; a click or a tap has chosen its day
    // already (pointerdown comes before focus).
    svg.addEventListener("focus", function () { if (current < 0) show(data.points.length - 1); });
    svg.addEventListener("blur", hide);
    svg.addEventListener("keydown", function (evt) {
      var last = data.points.length - 1;
      var step = evt.shiftKey ? 10 : 1;
      var next = current < 0 ? last : current;
      if (evt.key === "ArrowLeft") next = Math.max(0, next - step);
      else if (evt.key === "ArrowRight") next = Math.min(last, next + step);
      else if (evt.key === "Home") next = 0;
      else if (evt.key === "End") next = last;
      else if (evt.key === "Escape") { hide(); return; }
      else return;
      evt.preventDefault();
      show(next);
    });
  }

  function scan(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("figure.chart[data-hover]")) setup(root);
    root.querySelectorAll("figure.chart[data-hover]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(document); });
  } else {
    scan(document);
  }
  // Charts that arrive later (the range tabs, the live refresh) are swapped in by htmx.
  document.addEventListener("htmx:load", function (evt) { scan(evt.detail.elt); });
})();
