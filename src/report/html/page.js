// ftpcap's page: every text from the capture goes into text nodes
// (textContent), never into markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function pairs(id, rows) {
    var t = document.getElementById(id);
    if (!rows.length) { var r0 = t.insertRow(); r0.appendChild(el("td", "none")); return; }
    rows.forEach(function (p) {
      var r = t.insertRow();
      r.appendChild(el("td", p[0]));
      r.appendChild(el("td", p[1], "n"));
    });
  }
  pairs("by-rule", data.byRule);
  pairs("by-software", data.bySoftware);
  pairs("by-client", data.byClient);
  pairs("by-user", data.byUser);
  pairs("warnings", data.warnings);
  pairs("partial", data.partial.concat(Object.keys(data.skipped).map(function (k) {
    return ["frames skipped: " + k, data.skipped[k]];
  })));
  pairs("session-warnings", data.sessionWarnings.map(function (p) { return ["session warning: " + p[0], p[1]]; }));

  // The timeline: counts per bin, as bars.
  document.getElementById("bin-note").textContent =
    "Counts per " + data.binSeconds + " s of capture time (UTC).";
  if (data.timeline.length && typeof uPlot !== "undefined") {
    var colors = ["#888", "#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf"];
    var bars = uPlot.paths.bars({ size: [0.9, 40] });
    var series = [{}].concat(data.series.map(function (name, i) {
      return { label: name, stroke: colors[i], fill: colors[i] + "66", paths: bars, points: { show: false } };
    }));
    var box = document.getElementById("timeline");
    new uPlot({ width: Math.max(600, Math.min(1400, box.clientWidth || 1000)), height: 300, series: series,
                scales: { x: { time: true } } }, data.timeline, box);
  }

  // The incident table: sortable by any column, filtered by any text.
  var cols = data.columns, rows = data.rows;
  document.getElementById("rows-note").textContent = rows.length < data.rowsTotal
    ? "The first " + rows.length + " of " + data.rowsTotal + " rows; the CSV report has them all."
    : data.rowsTotal + " rows.";
  var head = document.querySelector("#incidents thead"), body = document.querySelector("#incidents tbody");
  var hr = head.insertRow(), sortCol = -1, asc = true, filter = "";
  cols.forEach(function (c, i) {
    var th = el("th", c);
    th.addEventListener("click", function () { asc = sortCol === i ? !asc : true; sortCol = i; draw(); });
    hr.appendChild(th);
  });
  var lower = rows.map(function (r) { return r.join("\u0001").toLowerCase(); });
  function draw() {
    var idx = [];
    for (var i = 0; i < rows.length; i++) if (!filter || lower[i].indexOf(filter) >= 0) idx.push(i);
    if (sortCol >= 0) idx.sort(function (a, b) {
      var x = rows[a][sortCol], y = rows[b][sortCol];
      var c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
      return asc ? c : -c;
    });
    var frag = document.createDocumentFragment();
    idx.forEach(function (i) {
      var tr = document.createElement("tr");
      rows[i].forEach(function (v, j) {
        var td = el("td", v, typeof v === "number" ? "n" : "");
        if (cols[j] === "session") {
          td.className = "n s"; td.textContent = "";
          var a = el("a", v, "s");
          a.addEventListener("click", function () { show(rows[i][0], v); });
          td.appendChild(a);
        }
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    });
    body.textContent = "";
    body.appendChild(frag);
    document.getElementById("shown").textContent = idx.length + " shown";
  }
  function show(capture, session) {
    var t = data.transcripts[String(session)], pre = document.getElementById("transcript");
    var note = document.getElementById("transcript-note");
    if (t !== undefined) { note.textContent = "Session " + session + ":"; pre.textContent = t; }
    else {
      note.textContent = "Session " + session + "'s transcript is not in the page; print it with:";
      pre.textContent = data.transcriptCommand.replace("{session}", String(session));
    }
    pre.scrollIntoView();
  }
  var timer = null;
  document.getElementById("filter").addEventListener("input", function (e) {
    clearTimeout(timer);
    timer = setTimeout(function () { filter = e.target.value.toLowerCase(); draw(); }, 150);
  });
  draw();
})();
