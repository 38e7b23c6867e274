// The HTML report's script, and all of it: the values under the pointer on
// the timeline, and the event log's filter. The page reads without it.
(function () {
  "use strict";
  document.querySelectorAll(".js-only").forEach(function (e) { e.hidden = false; });

  var data = document.getElementById("series");
  var plot = document.getElementById("plot");
  var out = document.getElementById("hover");
  if (data && plot && out) {
    var d = JSON.parse(data.textContent);
    var svg = plot.querySelector("svg");
    svg.addEventListener("mousemove", function (ev) {
      var box = svg.getBoundingClientRect();
      var x = (ev.clientX - box.left) / box.width * d.width;
      var t = Math.round((x - d.left) / d.plot_w * d.x_max);
      if (t < 0 || t > d.x_max) { out.hidden = true; return; }
      var parts = d.runs.map(function (r) {
        var row = r.rows.find(function (w) { return w[0] === t; });
        if (!row) { return r.label + ": –"; }
        return r.label + ": " + row[1] + " req/s, " + row[2] + " failed, p99 " +
          row[3].toFixed(1) + " ms, " + row[4] + " carts lost, healthy " +
          row[5].map(function (n, i) { return (d.azs[i] || i) + " " + n; }).join(" / ");
      });
      out.textContent = "t = " + t + " s · " + parts.join(" · ");
      out.hidden = false;
    });
    svg.addEventListener("mouseleave", function () { out.hidden = true; });
  }

  var kind = document.getElementById("kind-filter");
  var run = document.getElementById("run-filter");
  var log = document.getElementById("event-log");
  var count = document.getElementById("event-count");
  function filter() {
    var shown = 0;
    log.querySelectorAll("tbody tr").forEach(function (tr) {
      var ok = (!kind.value || tr.dataset.kind === kind.value) &&
               (!run.value || tr.dataset.run === run.value);
      tr.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " shown";
  }
  if (kind && run && log) {
    kind.addEventListener("change", filter);
    run.addEventListener("change", filter);
    filter();
  }
})();
