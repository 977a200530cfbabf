// streamx report: sorting, filtering and paging of the tables, and the
// conversations opening under their rows. Everything is built with
// createElement and textContent; nothing from the data is ever parsed as
// HTML. Without this script the page is plain HTML.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  // safeHref keeps only the relative links the report itself made.
  function safeHref(h) {
    return typeof h === "string" && (h.indexOf("./") === 0 || h.indexOf("../") === 0) ? h : "";
  }
  function link(href, text) {
    var a = el("a", "", text);
    var h = safeHref(href);
    if (h) a.setAttribute("href", h);
    return a;
  }
  function human(n) {
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1).replace(/\.0$/, "") + " KiB";
    if (n < 1073741824) return (n / 1048576).toFixed(1).replace(/\.0$/, "") + " MiB";
    return (n / 1073741824).toFixed(1).replace(/\.0$/, "") + " GiB";
  }

  // ---- conversations ----
  function runs(pre, parts) {
    for (var i = 0; i < parts.length; i++) {
      if (i % 2 === 1) pre.appendChild(el("span", "esc", parts[i]));
      else if (parts[i]) pre.appendChild(document.createTextNode(parts[i]));
    }
  }
  function side(d) { return d === 0 ? "originator" : "responder"; }
  function buildConv(c) {
    var body = el("div", "conv-body");
    (c.notes || []).forEach(function (n) { body.appendChild(el("p", "cut", n)); });
    (c.b || []).forEach(function (b) {
      var d = b.d === 1 ? 1 : 0;
      if (b.k === "data") {
        var blk = el("div", "blk d" + d);
        var bh = el("div", "bh", (d === 0 ? "▶ " : "◀ ") + side(d) + " ");
        bh.appendChild(el("span", "mono", b.t || ""));
        bh.appendChild(document.createTextNode(" "));
        bh.appendChild(el("small", "", "offset " + b.o + ", " + b.n + " bytes"));
        blk.appendChild(bh);
        (b.p || []).forEach(function (p) {
          if (p.x) blk.appendChild(el("pre", "hex", p.x));
          else { var pre = el("pre"); runs(pre, p.s || []); blk.appendChild(pre); }
        });
        body.appendChild(blk);
      } else if (b.k === "gap") {
        body.appendChild(el("div", "gap d" + d, "⚠ " + side(d) + ": " + b.m));
      } else if (b.k === "end") {
        body.appendChild(el("div", "end d" + d, side(d) + ": " + b.m + " " + (b.t || "")));
      } else {
        body.appendChild(el("div", "cut", "✂ " + b.m));
      }
    });
    if (c.links && c.links.length) {
      var p = el("p", "links");
      c.links.forEach(function (l) { p.appendChild(link(l.h, l.l)); p.appendChild(document.createTextNode(" ")); });
      body.appendChild(p);
    }
    return body;
  }
  // convNode returns the conversation of uid: a copy of the HTML one, or
  // one built from its JSON, or a note with the transcript link.
  function convNode(uid, txt) {
    var d = document.getElementById("c-" + uid);
    if (d && d.tagName === "DETAILS") {
      var b = d.querySelector(".conv-body");
      if (b) return b.cloneNode(true);
    }
    var s = document.getElementById("t-" + uid);
    if (s && s.tagName === "SCRIPT") {
      try { return buildConv(JSON.parse(s.textContent)); } catch (e) { /* shown below */ }
    }
    var box = el("div", "conv-body");
    box.appendChild(el("p", "note", "No payload of this connection is inlined in the report."));
    if (safeHref(txt)) box.appendChild(link(txt, "open the transcript file"));
    return box;
  }

  // ---- connections table ----
  var dataEl = document.getElementById("conn-data");
  var table = document.getElementById("conn-table");
  var conns = null;
  if (dataEl && table) {
    try { conns = JSON.parse(dataEl.textContent); } catch (e) { conns = null; }
  }
  var state = { filter: "", service: "", missing: false, key: -1, desc: false, page: 0, size: 100 };
  var view = [];
  var openUID = null;

  function connRow(r) {
    // r: uid, time, orig, resp, service, state, conn_state, history, ob, rb, missed, conv, txt
    var tr = el("tr");
    tr.setAttribute("data-uid", r[0]);
    var id = el("td");
    if (r[11]) { var a = el("a", "", r[0]); a.setAttribute("href", "#c-" + r[0]); id.appendChild(a); }
    else if (safeHref(r[12])) id.appendChild(link(r[12], r[0]));
    else id.textContent = r[0];
    tr.appendChild(id);
    tr.appendChild(el("td", "mono", r[1]));
    tr.appendChild(el("td", "mono", r[2]));
    tr.appendChild(el("td", "mono", r[3]));
    tr.appendChild(el("td", "", r[4]));
    var st = el("td", "", r[5] + " ");
    st.appendChild(el("small", "", r[6]));
    st.title = "Zeek " + r[6] + ", history " + r[7];
    tr.appendChild(st);
    tr.appendChild(el("td", "n", r[8]));
    tr.appendChild(el("td", "n", r[9]));
    tr.appendChild(el("td", r[10] ? "n warn" : "n", r[10]));
    return tr;
  }
  function toggle(tr) {
    var uid = tr.getAttribute("data-uid");
    var next = tr.nextElementSibling;
    if (next && next.classList.contains("conv-row")) {
      next.remove(); tr.classList.remove("open"); openUID = null; return;
    }
    var r = null;
    for (var i = 0; i < view.length; i++) if (view[i][0] === uid) { r = view[i]; break; }
    var row = el("tr", "conv-row");
    var td = el("td");
    td.colSpan = 9;
    td.appendChild(convNode(uid, r ? r[12] : ""));
    row.appendChild(td);
    tr.after(row);
    tr.classList.add("open");
    openUID = uid;
  }
  function matches(r) {
    if (state.service === "-" ? r[4] !== "" : state.service && r[4] !== state.service) return false;
    if (state.missing && !r[10]) return false;
    if (!state.filter) return true;
    var hay = (r[0] + " " + r[1] + " " + r[2] + " " + r[3] + " " + r[4] + " " + r[5] + " " + r[6] + " " + r[7]).toLowerCase();
    return state.filter.split(/\s+/).every(function (w) { return hay.indexOf(w) >= 0; });
  }
  function compute() {
    view = conns.filter(matches);
    if (state.key >= 0) {
      var k = state.key, sgn = state.desc ? -1 : 1;
      var num = k >= 8;
      view.sort(function (a, b) {
        var x = a[k], y = b[k];
        if (num) return (x - y) * sgn;
        return (x < y ? -1 : x > y ? 1 : 0) * sgn;
      });
    }
  }
  function render() {
    var tb = table.tBodies[0];
    var pages = Math.max(1, Math.ceil(view.length / state.size));
    if (state.page >= pages) state.page = pages - 1;
    var start = state.page * state.size;
    var frag = document.createDocumentFragment();
    view.slice(start, start + state.size).forEach(function (r) { frag.appendChild(connRow(r)); });
    tb.replaceChildren(frag);
    document.getElementById("conn-page").textContent = view.length === 0 ? "no connections match" :
      (start + 1) + "–" + Math.min(view.length, start + state.size) + " of " + view.length + (view.length !== conns.length ? " (filtered from " + conns.length + ")" : "");
    document.getElementById("conn-prev").disabled = state.page === 0;
    document.getElementById("conn-next").disabled = state.page >= pages - 1;
    if (openUID) {
      var tr = tb.querySelector('tr[data-uid="' + CSS.escape(openUID) + '"]');
      openUID = null;
      if (tr) toggle(tr);
    }
  }
  function openConn(uid) {
    if (!conns) return false;
    var idx = -1;
    for (var i = 0; i < view.length; i++) if (view[i][0] === uid) { idx = i; break; }
    if (idx < 0) {
      state.filter = ""; state.service = ""; state.missing = false;
      document.getElementById("conn-filter").value = "";
      document.getElementById("conn-service").value = "";
      document.getElementById("conn-missing").checked = false;
      compute();
      for (var j = 0; j < view.length; j++) if (view[j][0] === uid) { idx = j; break; }
    }
    if (idx < 0) return false;
    state.page = Math.floor(idx / state.size);
    openUID = null;
    render();
    var tr = table.tBodies[0].querySelector('tr[data-uid="' + CSS.escape(uid) + '"]');
    if (!tr) return false;
    var next = tr.nextElementSibling;
    if (!(next && next.classList.contains("conv-row"))) toggle(tr);
    tr.scrollIntoView({ block: "start" });
    return true;
  }
  if (conns) {
    document.getElementById("conn-controls").hidden = false;
    compute();
    render();
    document.getElementById("conn-filter").addEventListener("input", function (e) {
      state.filter = e.target.value.trim().toLowerCase(); state.page = 0; compute(); render();
    });
    document.getElementById("conn-service").addEventListener("change", function (e) {
      state.service = e.target.value; state.page = 0; compute(); render();
    });
    document.getElementById("conn-missing").addEventListener("change", function (e) {
      state.missing = e.target.checked; state.page = 0; compute(); render();
    });
    document.getElementById("conn-size").addEventListener("change", function (e) {
      state.size = parseInt(e.target.value, 10) || 100; state.page = 0; render();
    });
    document.getElementById("conn-prev").addEventListener("click", function () { state.page--; render(); });
    document.getElementById("conn-next").addEventListener("click", function () { state.page++; render(); });
    table.tHead.addEventListener("click", function (e) {
      var th = e.target.closest("th");
      if (!th || !th.hasAttribute("data-k")) return;
      var k = parseInt(th.getAttribute("data-k"), 10);
      state.desc = state.key === k ? !state.desc : k >= 8;
      state.key = k;
      table.tHead.querySelectorAll("th").forEach(function (h) { h.classList.remove("asc", "desc"); });
      th.classList.add(state.desc ? "desc" : "asc");
      compute(); render();
    });
    table.tBodies[0].addEventListener("click", function (e) {
      if (e.target.closest("a") || e.target.closest("tr.conv-row")) return;
      var tr = e.target.closest("tr[data-uid]");
      if (tr) toggle(tr);
    });
  }

  // Links to #c-UID open the conversation in the table.
  function onHash() {
    var h = decodeURIComponent(location.hash || "");
    if (h.indexOf("#c-") !== 0) return;
    var uid = h.slice(3);
    if (openConn(uid)) return;
    var d = document.getElementById("c-" + uid);
    if (d && d.tagName === "DETAILS") { d.open = true; d.scrollIntoView({ block: "start" }); }
  }
  document.addEventListener("click", function (e) {
    var a = e.target.closest('a[href^="#c-"]');
    if (!a || !conns) return;
    e.preventDefault();
    var uid = decodeURIComponent(a.getAttribute("href").slice(3));
    if (a.closest("#conn-table") && !a.closest("tr.conv-row")) {
      var tr = a.closest("tr[data-uid]");
      if (tr) { toggle(tr); return; }
    }
    history.replaceState(null, "", "#c-" + encodeURIComponent(uid));
    openConn(uid);
  });
  window.addEventListener("hashchange", onHash);
  if (location.hash) onHash();

  // ---- other tables: sort by a click on a heading, filter by a box ----
  function cellValue(td) {
    if (!td) return "";
    var v = td.getAttribute("data-v");
    if (v !== null) return parseFloat(v);
    var t = td.textContent.trim();
    return /^-?\d+(\.\d+)?$/.test(t) ? parseFloat(t) : t.toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (t) {
    if (!t.tHead || !t.tBodies[0]) return;
    t.tHead.addEventListener("click", function (e) {
      var th = e.target.closest("th");
      if (!th) return;
      var i = Array.prototype.indexOf.call(th.parentNode.children, th);
      var desc = th.classList.contains("asc");
      t.tHead.querySelectorAll("th").forEach(function (h) { h.classList.remove("asc", "desc"); });
      th.classList.add(desc ? "desc" : "asc");
      var rows = Array.prototype.slice.call(t.tBodies[0].rows);
      rows.sort(function (a, b) {
        var x = cellValue(a.cells[i]), y = cellValue(b.cells[i]);
        if (typeof x !== typeof y) { x = String(x); y = String(y); }
        return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
      });
      var frag = document.createDocumentFragment();
      rows.forEach(function (r) { frag.appendChild(r); });
      t.tBodies[0].appendChild(frag);
    });
  });
  document.querySelectorAll("input.table-filter").forEach(function (inp) {
    var t = document.getElementById(inp.getAttribute("data-table"));
    if (!t || !t.tBodies[0]) return;
    inp.parentNode.hidden = false;
    inp.addEventListener("input", function () {
      var words = inp.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(t.tBodies[0].rows, function (r) {
        var hay = r.textContent.toLowerCase();
        r.hidden = !words.every(function (w) { return hay.indexOf(w) >= 0; });
      });
    });
  });
  window.streamxReport = { openConn: openConn, human: human };
})();
