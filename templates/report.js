// The report's behaviour: details on hover/click, collapse and filter (re-running the same row
// layout the tool drew the tree with), the shared-depth heatmap and the model list.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var L = JSON.parse(document.getElementById("layout").textContent);
  var models = data.models, nodes = data.nodes, why = data.why, base = data.base;
  var MATRIX_MAX = 300;  // cells are quadratic: past this many shown models, filter first
  var AUTO_COLLAPSE = 60;  // past this many models the tree opens as an overview

  // Per node, its child nodes and model leaves interleaved by first model, as the tool laid them.
  var items = nodes.map(function () { return []; });
  var seen = nodes.map(function () { return false; });
  var through = nodes.map(function () { return []; });
  models.forEach(function (m, i) {
    var parent = 0;
    through[0].push(i);
    m.t.forEach(function (node) {
      if (!seen[node]) { seen[node] = true; items[parent].push({node: node}); }
      through[node].push(i);
      parent = node;
    });
    items[parent].push({model: i});
  });

  var collapsed = {};
  var visible = models.map(function () { return true; });
  var q = "";

  function esc(text) {
    return String(text).replace(/[&<>"]/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c];
    });
  }
  function link(path, line) {
    var href = base + path + "#L" + line;
    return "<a href=\"" + esc(href) + "\">" + esc(path + ":" + line) + "</a>";
  }
  function elbow(x1, y1, x2, y2) {
    var start = x1 + L.box, middle = start + Math.floor((x2 - start) / 2);
    return "M" + start + "," + y1 + "H" + middle + "V" + y2 + "H" + x2;
  }
  function byId(id) { return document.getElementById(id); }

  // ---- tree --------------------------------------------------------------------------------
  function relayout() {
    var row = 0, ys = {}, leafY = {}, shownNodes = {};
    function next() { var y = row * L.row + Math.floor(L.row / 2); row += 1; return y; }
    function open(it) { return it.node !== undefined ? through[it.node].some(isShown) : visible[it.model]; }
    function isShown(i) { return visible[i]; }
    function place(node) {
      shownNodes[node] = true;
      var its = collapsed[node] ? [] : items[node].filter(open);
      if (!its.length) { ys[node] = next(); return ys[node]; }
      var first = null, last = null;
      its.forEach(function (it) {
        var y = it.node !== undefined ? place(it.node) : (leafY[it.model] = next());
        if (first === null) { first = y; }
        last = y;
      });
      ys[node] = Math.floor((first + last) / 2);
      return ys[node];
    }
    place(0);
    var width = 0;
    nodes.forEach(function (n, i) {
      var g = byId("n" + i), on = shownNodes[i] === true;
      g.classList.toggle("hide", !on);
      if (on) { g.setAttribute("transform", "translate(" + n.d * L.column + "," + ys[i] + ")"); }
      g.classList.toggle("nokids", !items[i].length);
      g.querySelector(".t text").textContent = collapsed[i] ? "+" : "\u2212";
    });
    models.forEach(function (m, i) {
      var g = byId("m" + i), on = leafY[i] !== undefined;
      g.classList.toggle("hide", !on);
      if (on) {
        var parent = m.t.length ? m.t[m.t.length - 1] : 0, x = (nodes[parent].d + 1) * L.column;
        g.setAttribute("transform", "translate(" + x + "," + leafY[i] + ")");
        width = Math.max(width, x);
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("#edges path"), function (p) {
      var c = p.getAttribute("data-c"), on, parent, x2, y2;
      if (c.charAt(0) === "n") {
        var child = +c.slice(1);
        parent = nodes[child].p; on = shownNodes[child] === true; x2 = nodes[child].d * L.column; y2 = ys[child];
      } else {
        var mi = +c.slice(1), t = models[mi].t;
        parent = t.length ? t[t.length - 1] : 0; on = leafY[mi] !== undefined;
        x2 = (nodes[parent].d + 1) * L.column; y2 = leafY[mi];
      }
      p.classList.toggle("hide", !on);
      if (on) { p.setAttribute("d", elbow(nodes[parent].d * L.column, ys[parent], x2, y2)); }
    });
    var svg = byId("trie"), h = Math.max(row, 1) * L.row + L.row, w = width + L.leafText;
    svg.setAttribute("height", h); svg.setAttribute("width", w);
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
  }

  function layerOf(mi, depth) { return models[mi].L[depth - 1]; }

  function showNode(i) {
    var n = nodes[i], ms = through[i].filter(function (m) { return visible[m]; });
    var html = "<h3>" + esc(n.l) + "</h3>";
    if (i === 0) {
      html += "<p>" + ms.length + " models shown; the root of the trie (before any layer).</p>";
    } else {
      var layer = layerOf(ms.length ? ms[0] : through[i][0], n.d);
      html += "<p>Layer " + n.d + " &middot; shared by <b>" + n.c + "</b> models<br>" +
        (n.k ? "checkpoint key <code>" + esc(n.k) + "</code>" : "shared, but not transferable (see diagnostics)") +
        "</p><p>Hyperparameters: " + (layer[1] ? "<code>" + esc(layer[1]) + "</code>" : "none literal") + "</p>";
    }
    html += "<table><tr><td><b>model</b></td><td><b>" + (i ? "this copy" : "file") + "</b></td></tr>";
    ms.slice(0, 500).forEach(function (m) {
      var where = i ? layerOf(m, n.d) : [0, 0, "", 1];
      html += "<tr><td>" + esc(models[m].n) + "</td><td>" + link(where[2] || models[m].p, where[3]) + "</td></tr>";
    });
    html += "</table>" + (ms.length > 500 ? "<p>&hellip; and " + (ms.length - 500) + " more</p>" : "");
    byId("detail").innerHTML = html;
  }

  function layersTable(mi) {
    var m = models[mi], html = "<table class=\"layers\"><tr><th>#</th><th>layer</th><th>hyperparameters</th><th>key</th><th>source</th></tr>";
    m.L.forEach(function (layer, p) {
      var cls = layer[4] ? "shared" : (p >= m.s ? "loose" : "");
      html += "<tr class=\"" + cls + "\"><td>" + (p + 1) + "</td><td>" + esc(layer[0]) + "</td><td><code>" + esc(layer[1]) +
        "</code></td><td>" + (layer[4] ? "<code>" + esc(layer[4]) + "</code>" : (p >= m.s ? "in a loop/branch" : "")) +
        "</td><td>" + link(layer[2] || m.p, layer[3]) + (layer[5] ? " <small>in " + esc(layer[5]) + "</small>" : "") + "</td></tr>";
    });
    return html + "</table>" + (m.L.length ? "" : "<p>No layer calls.</p>");
  }

  function showModel(mi) {
    var m = models[mi];
    byId("detail").innerHTML = "<h3>" + esc(m.n) + "</h3><p><code>" + esc(m.id) + "</code> (" + esc(m.k) +
      ")<br>shares its first " + m.t.length + " layer(s) with another model</p>" + layersTable(mi);
  }

  var pinned = null;
  function select(el) {
    Array.prototype.forEach.call(document.querySelectorAll(".sel"), function (e) { e.classList.remove("sel"); });
    if (el) { el.classList.add("sel"); }
  }
  function target(event) {
    var t = event.target;
    while (t && t !== document && !(t.classList && (t.classList.contains("n") || t.classList.contains("leaf") || t.classList.contains("t")))) {
      t = t.parentNode;
    }
    return t && t !== document ? t : null;
  }
  function show(el) {
    if (el.classList.contains("n")) { showNode(+el.getAttribute("data-i")); } else { showModel(+el.getAttribute("data-m")); }
  }
  byId("trie").addEventListener("click", function (event) {
    var el = target(event);
    if (!el) { return; }
    if (el.classList.contains("t")) {
      var i = +el.parentNode.getAttribute("data-i");
      collapsed[i] = !collapsed[i];
      relayout();
      return;
    }
    pinned = el; select(el); show(el);
  });
  byId("trie").addEventListener("mouseover", function (event) {
    var el = target(event);
    if (el && !el.classList.contains("t") && !pinned) { show(el); }
  });
  byId("expand").addEventListener("click", function () { collapsed = {}; relayout(); });
  byId("collapse").addEventListener("click", function () { overview(); relayout(); });
  // Collapse at the deepest level that still fits the tree in AUTO_COLLAPSE rows (depth 1 at least).
  function overview() {
    var deepest = 0, rows = {}, ending = {};
    nodes.forEach(function (n) { deepest = Math.max(deepest, n.d); rows[n.d] = (rows[n.d] || 0) + 1; });
    models.forEach(function (m) { ending[m.t.length] = (ending[m.t.length] || 0) + 1; });
    var level = 1, above = ending[0] || 0;
    for (var d = 1; d <= deepest; d += 1) {
      if (above + rows[d] > AUTO_COLLAPSE) { break; }
      level = d; above += ending[d] || 0;
    }
    collapsed = {};
    nodes.forEach(function (n, i) { if (n.d === level && i > 0) { collapsed[i] = true; } });
  }

  // ---- shared-depth matrix ---------------------------------------------------------------
  function depth(a, b) {
    var ta = models[a].t, tb = models[b].t, d = 0;
    while (d < ta.length && d < tb.length && ta[d] === tb[d]) { d += 1; }
    return d;
  }
  function branch(mi, d) {
    var t = models[mi].t;
    if (d < t.length) { return String(t[d]); }
    return models[mi].e ? "e" : "m" + mi;
  }
  function reason(a, b) {
    var d = depth(a, b), point = d ? models[a].t[d - 1] : 0, x = branch(a, d), y = branch(b, d);
    var key = point + ":" + (x < y ? x + ":" + y : y + ":" + x);
    if (why[key]) { return why[key]; }
    var la = models[a].L[d], lb = models[b].L[d];
    return "layer " + (d + 1) + ": " + (la ? "`" + la[0] + "`" : "no more layers") + " vs " +
      (lb ? "`" + lb[0] + "`" : "no more layers") + " (no explanation recorded for this pair)";
  }
  var sortBy = "trie", sortColumn = -1;
  function trieOrder() {
    var out = [];
    (function walk(node) {
      items[node].forEach(function (it) { if (it.node !== undefined) { walk(it.node); } else { out.push(it.model); } });
    })(0);
    return out;
  }
  function shownModels() {
    var order = trieOrder().filter(function (i) { return visible[i]; });
    if (sortColumn >= 0) {
      order.sort(function (a, b) { return depth(b, sortColumn) - depth(a, sortColumn) || a - b; });
      var at = order.indexOf(sortColumn);
      if (at > 0) { order.splice(at, 1); order.unshift(sortColumn); }
    } else if (sortBy === "name") {
      order.sort(function (a, b) { return models[a].n < models[b].n ? -1 : models[a].n > models[b].n ? 1 : a - b; });
    } else if (sortBy === "total") {
      var total = {};
      order.forEach(function (a) { total[a] = models[a].t.reduce(function (s, n) { return s + nodes[n].c - 1; }, 0); });
      order.sort(function (a, b) { return total[b] - total[a] || a - b; });
    }
    return order;
  }
  var matrixOrder = [];
  function matrix() {
    var order = shownModels(), note = "";
    if (order.length > MATRIX_MAX) {
      note = "showing " + MATRIX_MAX + " of " + order.length + " models: filter to see the others";
      order = order.slice(0, MATRIX_MAX);
    }
    matrixOrder = order;
    byId("matrix-note").textContent = note;
    var heat = byId("heat");
    heat.classList.toggle("small", order.length > 40);
    var html = ["<table><thead><tr><th></th>"];
    order.forEach(function (b) { html.push("<th data-col=\"" + b + "\" title=\"" + esc(models[b].id) + "\">" + esc(models[b].n) + "</th>"); });
    html.push("</tr></thead><tbody>");
    order.forEach(function (a) {
      html.push("<tr><th class=\"row\" data-col=\"" + a + "\" title=\"" + esc(models[a].id) + "\">" + esc(models[a].n) + "</th>");
      order.forEach(function (b) {
        if (a === b) { html.push("<td class=\"c self\">&ndash;</td>"); return; }
        var d = depth(a, b);
        html.push("<td class=\"c d" + Math.min(d, 6) + "\">" + d + "</td>");
      });
      html.push("</tr>");
    });
    html.push("</tbody></table>");
    heat.innerHTML = order.length ? html.join("") : "<p>No models shown.</p>";
  }
  var tip = byId("tip");
  byId("heat").addEventListener("mousemove", function (event) {
    var td = event.target;
    if (!td.classList || !td.classList.contains("c") || td.classList.contains("self")) { tip.hidden = true; return; }
    var a = matrixOrder[td.parentNode.rowIndex - 1], b = matrixOrder[td.cellIndex - 1];
    tip.innerHTML = "<b>" + esc(models[a].n) + "</b> ~ <b>" + esc(models[b].n) + "</b>: " + depth(a, b) +
      " shared<br>" + esc(reason(a, b));
    tip.hidden = false;
    tip.style.left = Math.min(event.clientX + 14, window.innerWidth - 540) + "px";
    tip.style.top = (event.clientY + 14) + "px";
  });
  byId("heat").addEventListener("mouseleave", function () { tip.hidden = true; });
  byId("heat").addEventListener("click", function (event) {
    var th = event.target.closest ? event.target.closest("th[data-col]") : null;
    if (!th) { return; }
    var col = +th.getAttribute("data-col");
    sortColumn = sortColumn === col ? -1 : col;
    matrix();
  });
  byId("order").addEventListener("change", function (event) { sortBy = event.target.value; sortColumn = -1; matrix(); });

  // ---- model list and filter ---------------------------------------------------------------
  function modelList() {
    var html = [];
    models.forEach(function (m, i) {
      html.push("<details class=\"model\" data-m=\"" + i + "\"><summary><b>" + esc(m.n) + "</b><span class=\"where\">" +
        esc(m.id) + " &middot; " + m.L.length + " layers, " + m.t.length + " shared</span></summary></details>");
    });
    byId("model-list").innerHTML = html.join("");
    byId("model-list").addEventListener("toggle", function (event) {
      var d = event.target;
      if (d.open && !d.getAttribute("data-filled")) {
        d.setAttribute("data-filled", "1");
        d.insertAdjacentHTML("beforeend", layersTable(+d.getAttribute("data-m")));
      }
    }, true);
  }
  function matches(m, text) {
    if (m.n.toLowerCase().indexOf(text) >= 0 || m.id.toLowerCase().indexOf(text) >= 0) { return true; }
    return m.L.some(function (layer) { return layer[0].toLowerCase().indexOf(text) >= 0 || layer[4].indexOf(text) >= 0; });
  }
  function filter() {
    q = byId("search").value.trim().toLowerCase();
    var count = 0;
    models.forEach(function (m, i) { visible[i] = !q || matches(m, q); if (visible[i]) { count += 1; } });
    nodes.forEach(function (n, i) {
      byId("n" + i).classList.toggle("hit", !!q && i > 0 && (n.l.toLowerCase().indexOf(q) >= 0 || n.k.indexOf(q) >= 0));
    });
    models.forEach(function (m, i) { byId("m" + i).classList.toggle("hit", !!q && visible[i]); });
    Array.prototype.forEach.call(document.querySelectorAll("details.model"), function (d) {
      d.classList.toggle("hide", !visible[+d.getAttribute("data-m")]);
    });
    Array.prototype.forEach.call(document.querySelectorAll("ul.endings li"), function (li) {
      li.classList.toggle("hide", !!q && li.textContent.toLowerCase().indexOf(q) < 0);
    });
    byId("shown").textContent = q ? count + " of " + models.length + " models match" : "";
    // A filter that leaves few models shows them all; clearing it goes back to the overview.
    if (q && count <= AUTO_COLLAPSE) { collapsed = {}; } else if (models.length > AUTO_COLLAPSE) { overview(); }
    relayout();
    matrix();
  }
  var timer = null;
  byId("search").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(filter, 120); });

  modelList();
  if (models.length > AUTO_COLLAPSE) { overview(); }
  relayout();
  matrix();
  if (nodes.length > 1) { showNode(1); }
}());
