// The web dashboard: reads the typed snapshot from the server-sent event
// stream, draws what the terminal dashboard draws, and posts the same actions
// as its keys to POST /admin/actions. State letters go with the colours.
(function () {
  "use strict";
  var KEY = "stratus-token";
  var $ = function (id) { return document.getElementById(id); };

  // The token arrives in the URL's fragment (never sent to a server); it
  // moves to this tab's session storage and leaves the address bar.
  function takeToken() {
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(KEY);
  }
  var token = takeToken();
  var snap = null;
  var last = null;
  var kinds = {};
  var pick = null;

  function say(msg, error) {
    var s = $("status");
    s.textContent = msg;
    s.className = "status" + (error ? " error" : "");
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function auth() { return { Authorization: "Bearer " + token }; }

  function login(why) {
    $("login").hidden = false;
    if (why) { $("login-why").textContent = why; }
    $("token-input").focus();
  }
  $("login").addEventListener("submit", function (e) {
    e.preventDefault();
    token = $("token-input").value.trim();
    sessionStorage.setItem(KEY, token);
    $("login").hidden = true;
    connect();
  });

  var retry = 1000;
  async function connect() {
    if (!token) { login(); return; }
    var r;
    try {
      r = await fetch("/admin/events", { headers: auth(), cache: "no-store" });
    } catch (e) {
      say("cannot reach the admin address; retrying", true);
      setTimeout(connect, retry = Math.min(retry * 2, 10000));
      return;
    }
    if (r.status === 401) {
      sessionStorage.removeItem(KEY);
      token = null;
      login("That token was refused: paste the token stratus printed at start.");
      return;
    }
    if (!r.ok) { say("the stream answered HTTP " + r.status, true); return; }
    retry = 1000;
    kinds = {};
    $("events").textContent = "";
    var reader = r.body.getReader();
    var dec = new TextDecoder();
    var buf = "";
    for (;;) {
      var x;
      try { x = await reader.read(); } catch (e) { break; }
      if (x.done) { break; }
      buf += dec.decode(x.value, { stream: true });
      var i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        var data = buf.slice(0, i).split("\n")
          .filter(function (l) { return l.indexOf("data: ") === 0; })
          .map(function (l) { return l.slice(6); }).join("\n");
        buf = buf.slice(i + 2);
        if (data) { render(JSON.parse(data)); }
      }
    }
    $("clock").textContent += " · stream ended";
    setTimeout(connect, retry = Math.min(retry * 2, 10000));
  }

  function fmt(n) { return Math.round(n).toLocaleString("en"); }

  function render(s) {
    snap = s;
    if (s.rows.length) { last = s.rows[s.rows.length - 1]; }
    $("title").textContent = s.scenario + " · " + s.strategy;
    document.title = "stratus · " + s.scenario + " · " + s.strategy;
    var t = (s.now / 1e9).toFixed(0) + " s";
    $("clock").textContent = s.end ? t + " of " + (s.end / 1e9).toFixed(0) + " s simulated" : t + " live";
    $("f-rps").textContent = last ? fmt(last.requests) : "–";
    $("f-fps").textContent = last ? fmt(last.failures) : "–";
    $("f-p50").textContent = last ? last.p50_ms.toFixed(1) : "–";
    $("f-p99").textContent = last ? last.p99_ms.toFixed(1) : "–";
    $("f-req").textContent = fmt(s.totals.requests);
    $("f-failed").textContent = fmt(s.totals.failed);
    $("f-lost").textContent = fmt(s.totals.carts_lost);
    $("f-sessions").textContent = fmt(s.nodes.reduce(function (a, n) {
      return a + (n.state === "dead" ? 0 : n.sessions);
    }, 0));
    $("f-resticks").textContent = fmt(s.lb.resticks);
    var f = s.fleet;
    $("lb").textContent = "balancer: " + s.lb.healthy + " of " + s.lb.targets + " targets healthy · " +
      (s.lb.sticky ? "sticky sessions" : "no stickiness") + " · desired " + f.desired +
      " (" + f.min + "–" + f.max + ") · version " + f.version + (f.deploying ? " · deploying" : "") +
      (s.store_status ? " · store " + s.store_status.replace("_", " ") : "");
    drawAzs(s);
    addEvents(s.events);
  }

  var STATES = [["healthy", "H"], ["launching", "L"], ["unhealthy", "U"], ["draining", "D"], ["dead", "X"]];

  function drawAzs(s) {
    var box = $("azs");
    var focused = document.activeElement && document.activeElement.dataset.act;
    box.textContent = "";
    s.azs.forEach(function (az, i) {
      var card = el("article", "az" + (az.alive ? "" : " down"));
      card.dataset.az = az.name;
      var h = el("h2", null, (i + 1) + " · " + az.name + " ");
      h.appendChild(el("span", "power", az.alive ? "powered" : "POWER OFF"));
      card.appendChild(h);
      var nodes = el("div", "nodes");
      nodes.setAttribute("aria-label", "nodes");
      STATES.forEach(function (st) {
        for (var k = 0; k < az.nodes[st[0]]; k++) {
          var n = el("span", "node " + st[0], st[1]);
          n.title = st[0];
          n.dataset.state = st[0];
          nodes.appendChild(n);
        }
      });
      card.appendChild(nodes);
      card.appendChild(el("p", "counts muted", STATES.map(function (st) {
        return az.nodes[st[0]] + " " + st[0];
      }).join(" · ")));
      s.store.filter(function (c) { return c.az === i; }).forEach(function (c) {
        card.appendChild(el("p", "inst" + (c.alive ? "" : " down"), "store " + c.role + (c.alive ? " (up)" : " (down)")));
      });
      s.databases.filter(function (d) { return d.az === i; }).forEach(function (d) {
        card.appendChild(el("p", "inst" + (d.alive ? "" : " down"), "db " + (d.name || d.role) + (d.alive ? " (up)" : " (down)")));
      });
      var acts = el("p", "actions");
      [["kill", "kill_az", "k"], ["restore", "restore_az", "r"]].forEach(function (a) {
        var b = el("button", null, a[0] + " ");
        b.type = "button";
        b.dataset.act = a[1] + ":" + az.name;
        b.setAttribute("aria-label", a[0] + " " + az.name);
        b.appendChild(el("kbd", null, a[2] + " " + (i + 1)));
        b.addEventListener("click", function () { post({ action: a[1], az: az.name }); });
        acts.appendChild(b);
      });
      card.appendChild(acts);
      box.appendChild(card);
    });
    if (focused) {
      var again = box.querySelector('[data-act="' + focused + '"]');
      if (again) { again.focus(); }
    }
  }

  function addEvents(evs) {
    var list = $("events");
    var sel = $("kind-filter");
    evs.forEach(function (e) {
      var li = el("li", null, e.t_s.toFixed(1) + " s  " + e.kind + "  " + e.detail);
      li.dataset.kind = e.kind;
      li.hidden = !!sel.value && sel.value !== e.kind;
      list.insertBefore(li, list.firstChild);
      if (!kinds[e.kind]) {
        kinds[e.kind] = true;
        var o = el("option", null, e.kind);
        o.value = e.kind;
        sel.appendChild(o);
      }
    });
    while (list.children.length > 1000) { list.removeChild(list.lastChild); }
  }
  $("kind-filter").addEventListener("change", function () {
    var v = $("kind-filter").value;
    Array.prototype.forEach.call($("events").children, function (li) {
      li.hidden = !!v && li.dataset.kind !== v;
    });
  });

  async function post(entry) {
    say("sending " + entry.action + (entry.az ? " " + entry.az : "") + "…");
    try {
      var r = await fetch("/admin/actions", {
        method: "POST",
        headers: Object.assign({ "Content-Type": "application/json" }, auth()),
        body: JSON.stringify(entry),
        cache: "no-store"
      });
      var body = await r.json();
      if (r.ok) { say(body.ok || "done"); } else { say(body.error || ("HTTP " + r.status), true); }
    } catch (e) {
      say("cannot reach the admin address: " + e, true);
    }
  }

  // The terminal dashboard's fault keys (src/tui/keys.rs), the same actions.
  function key(ch) {
    if (!snap) { return; }
    var f = snap.fleet;
    if (pick) {
      var p = pick;
      pick = null;
      var i = "123456789".indexOf(ch);
      if (i < 0) { i = "abcdefghi".indexOf(ch); }
      if (i < 0 || i >= snap.azs.length) { say("cancelled"); return; }
      post({ action: p, az: snap.azs[i].name });
      return;
    }
    switch (ch) {
      case "k": pick = "kill_az"; say("kill which AZ? 1-" + snap.azs.length); break;
      case "r": pick = "restore_az"; say("restore which AZ? 1-" + snap.azs.length); break;
      case "s":
        if (f.desired <= f.min) { say("desired is already at fleet.min (" + f.min + ")"); }
        else { post({ action: "set_desired", value: f.desired - 1 }); }
        break;
      case "o":
        if (f.desired >= f.max) { say("desired is already at fleet.max (" + f.max + ")"); }
        else { post({ action: "set_desired", value: f.desired + 1 }); }
        break;
      case "d": post({ action: "rolling_deploy" }); break;
      case "f": post({ action: "kill_store_primary" }); break;
      case "c": contrast(); break;
    }
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target.tagName;
    if (e.ctrlKey || e.metaKey || e.altKey || t === "INPUT" || t === "SELECT" || t === "TEXTAREA") { return; }
    if (e.key.length === 1) { key(e.key); }
    else if (e.key === "Escape" && pick) { pick = null; say("cancelled"); }
  });
  document.querySelectorAll("button[data-key]").forEach(function (b) {
    b.addEventListener("click", function () { key(b.dataset.key); });
  });

  function contrast(on) {
    var c = on === undefined ? !document.body.classList.contains("contrast") : on;
    document.body.classList.toggle("contrast", c);
    $("contrast").setAttribute("aria-pressed", String(c));
    localStorage.setItem("stratus-contrast", c ? "1" : "");
  }
  $("contrast").addEventListener("click", function () { contrast(); });
  contrast(!!localStorage.getItem("stratus-contrast"));

  connect();
})();
