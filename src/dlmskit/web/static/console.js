/* dlmskit web console: progressive enhancement. Every page works without this file. */
"use strict";

(function () {
  function byId(id) { return document.getElementById(id); }

  document.documentElement.classList.add("js");

  /* Explorer: filter the object tree. */
  var filter = byId("filter");
  if (filter) {
    filter.addEventListener("input", function () {
      var needle = filter.value.trim().toLowerCase();
      document.querySelectorAll("#tree tr[data-filter]").forEach(function (row) {
        row.hidden = needle !== "" && row.getAttribute("data-filter").indexOf(needle) < 0;
      });
      document.querySelectorAll("#tree details.class-group").forEach(function (group) {
        var shown = group.querySelectorAll("tr[data-filter]:not([hidden])").length;
        group.hidden = shown === 0;
      });
    });
  }

  /* Live trace: frames streamed as server-sent events. */
  var frames = byId("frames");
  if (frames && window.EventSource) {
    var last = frames.getAttribute("data-last") || "0";
    var live = byId("live");
    var follow = byId("follow");
    var count = frames.children.length;
    var source = new EventSource("/trace/stream?after=" + encodeURIComponent(last));
    source.addEventListener("frame", function (event) {
      var f = JSON.parse(event.data);
      var none = byId("no-frames");
      if (none) { none.remove(); }
      var li = document.createElement("li");
      li.className = "frame " + f.dir;
      li.id = "f" + f.seq;
      var head = document.createElement("div");
      head.className = "head";
      var arrow = document.createElement("b");
      arrow.textContent = f.dir === "tx" ? "TX \u2192" : "RX \u2190";
      var when = document.createElement("span");
      when.className = "muted";
      when.textContent = f.time;
      head.append(arrow, " #" + f.seq + " ", when);
      var hex = document.createElement("code");
      hex.className = "hex";
      hex.textContent = f.hex;
      var decoded = document.createElement("pre");
      decoded.textContent = f.decoded;
      li.append(head, hex, decoded);
      frames.append(li);
      count += 1;
      while (frames.children.length > 2000) { frames.firstElementChild.remove(); }
      if (live) { live.textContent = count + " frames, live"; }
      if (!follow || follow.checked) { li.scrollIntoView({block: "end"}); }
    });
    source.addEventListener("open", function () { if (live) { live.textContent = count + " frames, live"; } });
  }

  /* Profiles: progress while reading, then the plot. */
  var job = byId("job");
  if (job) {
    var id = job.getAttribute("data-job");
    var bar = byId("progress");
    var text = byId("progress-text");
    var poll = function () {
      fetch("/profile/job/" + id + ".json", {headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (p) {
          if (p.expected) { bar.max = p.expected; }
          bar.value = p.rows;
          if (p.state === "running") {
            text.textContent = "reading: " + p.rows + (p.expected ? " of " + p.expected : "") + " rows";
            setTimeout(poll, 400);
          } else if (p.state === "done" && job.getAttribute("data-state") !== "done") {
            window.location.reload();
          } else if (p.state === "failed" && job.getAttribute("data-state") !== "failed") {
            window.location.reload();
          }
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    if (job.getAttribute("data-state") === "running") { poll(); }
    if (job.getAttribute("data-state") === "done") { plot(id); }
  }

  function plot(id) {
    var target = byId("plot");
    if (!target || !window.uPlot) { return; }
    fetch("/profile/job/" + id + ".json?data=1")
      .then(function (r) { return r.json(); })
      .then(function (p) { draw(target, p.columns, p.rows); });
  }

  function compact(v) {
    var a = Math.abs(v);
    if (a >= 1e9) { return (v / 1e9).toPrecision(4) + "G"; }
    if (a >= 1e6) { return (v / 1e6).toPrecision(4) + "M"; }
    if (a >= 1e4) { return (v / 1e3).toPrecision(4) + "k"; }
    return String(Math.round(v * 1000) / 1000);
  }

  function draw(target, columns, rows) {
    if (!rows.length) { target.textContent = "no rows"; return; }
    var timeColumn = -1;
    for (var c = 0; c < columns.length; c++) {
      if (typeof rows[0][c] === "string" && !isNaN(Date.parse(rows[0][c]))) { timeColumn = c; break; }
    }
    var xs = rows.map(function (row, i) {
      return timeColumn >= 0 ? Date.parse(row[timeColumn]) / 1000 : i;
    });
    var started = performance.now();
    var width = Math.max(280, target.clientWidth || 600);
    var drawn = 0;
    for (var k = 0; k < columns.length; k++) {
      if (k === timeColumn || typeof rows[0][k] !== "number") { continue; }
      var ys = rows.map(function (row) { return typeof row[k] === "number" ? row[k] : null; });
      var box = document.createElement("div");
      box.className = "chart";
      box.setAttribute("role", "img");
      box.setAttribute("aria-label", columns[k] + ": " + rows.length + " points");
      target.append(box);
      new window.uPlot({
        title: columns[k],
        width: width,
        height: 220,
        scales: {x: {time: timeColumn >= 0}},
        axes: [{}, {size: 80, values: function (u, ticks) { return ticks.map(compact); }}],
        cursor: {sync: {key: "profile"}, drag: {x: true, y: false}},
        series: [{label: timeColumn >= 0 ? columns[timeColumn] : "entry"},
                 {label: columns[k], stroke: "#1f6feb", width: 1, points: {show: false}}],
      }, [xs, ys], box);
      drawn += 1;
    }
    target.setAttribute("data-series", String(drawn));
    target.setAttribute("data-points", String(rows.length));
    target.setAttribute("data-draw-ms", String(Math.round(performance.now() - started)));
  }
})();
