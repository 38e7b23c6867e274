// The web dashboard: reads the typed snapshots from the server-sent event
// stream (one per run: the live shop has one, a comparison one per
// strategy), draws what the terminal dashboard draws, a column per run, and
// posts the same actions as its keys to POST /admin/actions. A simulation's
// stream also says how it is played (`play`: the speed control, keys space
// and +/-, posted to /admin/play) and, once over, gives its reports
// (`final`: the figures the batch report has). State letters go with the
// colours.
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
  var snap = null;          // the first run's latest snapshot
  var runs = {};            // strategy -> { col, snap, last }
  var order = [];           // strategies, in the order they came
  var play = null;          // the pace, for a simulation
  var fin = null;           // the reports, once a simulation is over
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
        var kind = "message", data = [];
        buf.slice(0, i).split("\n").forEach(function (l) {
          if (l.indexOf("event: ") === 0) { kind = l.slice(7); }
          if (l.indexOf("data: ") === 0) { data.push(l.slice(6)); }
        });
        buf = buf.slice(i + 2);
        if (data.length) { on(kind, JSON.parse(data.join("\n"))); }
      }
    }
    if (fin) {
      $("clock").textContent += " · stratus has stopped serving";
      return;
    }
    $("clock").textContent += " · stream ended";
    setTimeout(connect, retry = Math.min(retry * 2, 10000));
  }

  function on(kind, v) {
    if (kind === "play") { pace(v); }
    else if (kind === "final") { finish(v); }
    else { render(v); }
  }

  function fmt(n) { return Math.round(n).toLocaleString("en"); }
  function clock(secs) {
    var s = Math.max(0, Math.floor(secs));
    var mm = Math.floor(s / 60) % 60, ss = s % 60;
    var hh = Math.floor(s / 3600);
    return (hh ? hh + ":" + (mm < 10 ? "0" : "") : "") + mm + ":" + (ss < 10 ? "0" : "") + ss;
  }

  var FIGURES = [["rps", "req/s"], ["fps", "failed/s"], ["p50", "p50 ms"], ["p99", "p99 ms"],
    ["req", "requests"], ["failed", "failed"], ["lost", "carts lost"],
    ["sessions", "sessions in node memory"], ["resticks", "re-sticks"]];

  // A run's column: its name, figures, balancer line, final figures, AZs.
  function column(name) {
    var col = el("section", "run");
    col.dataset.run = name;
    col.setAttribute("aria-label", name);
    col.appendChild(el("h2", "run-name", name));
    var figs = el("div", "figures");
    FIGURES.forEach(function (f) {
      var d = el("div");
      d.appendChild(el("span", "k", f[1]));
      var v = el("span", "v", "–");
      v.dataset.f = f[0];
      d.appendChild(v);
      figs.appendChild(d);
    });
    col.appendChild(figs);
    col.appendChild(el("p", "lb muted", "balancer: –"));
    var f = el("p", "final");
    f.hidden = true;
    col.appendChild(f);
    col.appendChild(el("div", "azs"));
    $("runs").appendChild(col);
    runs[name] = { col: col, snap: null, last: null };
    order.push(name);
    $("runs").classList.toggle("many", order.length > 1);
    return runs[name];
  }

  function set(col, key, text) { col.querySelector('[data-f="' + key + '"]').textContent = text; }

  function render(s) {
    var run = runs[s.strategy] || column(s.strategy);
    run.snap = s;
    if (s.rows.length) { run.last = s.rows[s.rows.length - 1]; }
    var first = order[0] === s.strategy;
    if (first) { snap = s; header(); }
    var col = run.col, last = run.last;
    set(col, "rps", last ? fmt(last.requests) : "–");
    set(col, "fps", last ? fmt(last.failures) : "–");
    set(col, "p50", last ? last.p50_ms.toFixed(1) : "–");
    set(col, "p99", last ? last.p99_ms.toFixed(1) : "–");
    set(col, "req", fmt(s.totals.requests));
    set(col, "failed", fmt(s.totals.failed));
    set(col, "lost", fmt(s.totals.carts_lost));
    set(col, "sessions", fmt(s.nodes.reduce(function (a, n) {
      return a + (n.state === "dead" ? 0 : n.sessions);
    }, 0)));
    set(col, "resticks", fmt(s.lb.resticks));
    var f = s.fleet;
    col.querySelector(".lb").textContent = "balancer: " + s.lb.healthy + " of " + s.lb.targets +
      " targets healthy · " + (s.lb.sticky ? "sticky sessions" : "no stickiness") + " · desired " +
      f.desired + " (" + f.min + "–" + f.max + ") · version " + f.version +
      (f.deploying ? " · deploying" : "") +
      (s.store_status ? " · store " + s.store_status.replace("_", " ") : "");
    drawAzs(s, col.querySelector(".azs"), order.length === 1);
    if (first && order.length > 1) { azButtons(s); }
    addEvents(s.events, s.strategy);
  }

  function header() {
    var s = snap;
    var names = order.length > 1 ? order.join("/") : s.strategy;
    var what = s.scenario + " · " + names + (play ? " · seed " + play.seed : "");
    $("title").textContent = what;
    document.title = "stratus · " + what;
    var t = s.end ? clock(s.now / 1e9) + " / " + clock(s.end / 1e9) : (s.now / 1e9).toFixed(0) + " s live";
    if (play) {
      t += " · " + (play.over ? "FINISHED" : play.paused ? "PAUSED" : "playing");
    }
    $("clock").textContent = t;
  }

  function pace(p) {
    play = p;
    $("pace").hidden = false;
    $("speed").textContent = "×" + (Number.isInteger(p.speed) ? p.speed : p.speed.toFixed(2));
    var b = $("pause");
    b.firstChild.textContent = p.paused ? "resume " : "pause ";
    b.setAttribute("aria-pressed", String(p.paused));
    document.querySelectorAll("#pace button").forEach(function (x) { x.disabled = p.over; });
    if (snap) { header(); }
  }

  // The runs' reports: the figures a batch run prints, beside the live ones.
  function finish(v) {
    fin = v;
    $("lesson").textContent = "Run over. " + v.lesson;
    $("lesson").hidden = false;
    v.runs.forEach(function (r) {
      var run = runs[r.strategy] || column(r.strategy);
      set(run.col, "lost", fmt(r.shoppers.carts_lost));
      var p = run.col.querySelector(".final");
      p.textContent = "";
      p.appendChild(el("strong", null, "Final (the run's report): "));
      // Each figure a span named for the report's key, between its words.
      [["carts lost ", "carts_lost", fmt(r.shoppers.carts_lost)],
        [" (items ", "items_lost", fmt(r.shoppers.items_lost)],
        [") · gave up with items ", "abandoned_with_items", fmt(r.shoppers.abandoned_with_items)],
        [" · checkouts ok ", "checkouts_ok", fmt(r.checkouts.ok)],
        [" · requests ", "requests", fmt(r.requests.total)],
        [", failed ", "requests_failed", fmt(r.requests.failed)],
        [" · p50 ", "p50_ms", r.latency_ms.all.p50.toFixed(2)],
        [" ms · p99 ", "p99_ms", r.latency_ms.all.p99.toFixed(2)]
      ].forEach(function (part) {
        p.appendChild(document.createTextNode(part[0]));
        var n = el("span", null, part[2]);
        n.dataset.final = part[1];
        p.appendChild(n);
      });
      p.appendChild(document.createTextNode(" ms"));
      p.hidden = false;
    });
    say("");
  }

  var STATES = [["healthy", "H"], ["launching", "L"], ["unhealthy", "U"], ["draining", "D"], ["dead", "X"]];

  function actButton(label, act, az, i) {
    var b = el("button", null, label + " ");
    b.type = "button";
    b.dataset.act = act + ":" + az;
    b.setAttribute("aria-label", label + " " + az);
    b.appendChild(el("kbd", null, (act === "kill_az" ? "k " : "r ") + (i + 1)));
    b.addEventListener("click", function () { post({ action: act, az: az }); });
    return b;
  }

  // With several runs the AZ buttons stand once, above the columns.
  function azButtons(s) {
    var box = $("az-actions");
    box.hidden = false;
    if (box.childElementCount === 2 * s.azs.length) { return; }
    box.textContent = "";
    s.azs.forEach(function (az, i) {
      box.appendChild(actButton("kill " + az.name, "kill_az", az.name, i));
      box.appendChild(actButton("restore " + az.name, "restore_az", az.name, i));
    });
  }

  function drawAzs(s, box, buttons) {
    var focused = document.activeElement && document.activeElement.dataset.act;
    box.textContent = "";
    s.azs.forEach(function (az, i) {
      var card = el("article", "az" + (az.alive ? "" : " down"));
      card.dataset.az = az.name;
      var h = el("h3", null, (i + 1) + " · " + az.name + " ");
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
      if (buttons) {
        var acts = el("p", "actions");
        acts.appendChild(actButton("kill", "kill_az", az.name, i));
        acts.appendChild(actButton("restore", "restore_az", az.name, i));
        card.appendChild(acts);
      }
      box.appendChild(card);
    });
    if (focused) {
      var again = box.querySelector('[data-act="' + focused + '"]');
      if (again) { again.focus(); }
    }
  }

  function addEvents(evs, run) {
    var list = $("events");
    var sel = $("kind-filter");
    evs.forEach(function (e) {
      var li = el("li", null, e.t_s.toFixed(1) + " s  " + (order.length > 1 ? run + "  " : "") +
        e.kind + "  " + e.detail);
      li.dataset.kind = e.kind;
      li.dataset.run = run;
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

  async function send(path, entry, what) {
    say("sending " + what + "…");
    try {
      var r = await fetch(path, {
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
  function post(entry) {
    send("/admin/actions", entry, entry.action + (entry.az ? " " + entry.az : ""));
  }
  function pacePost(p) { if (play) { send("/admin/play", { play: p }, p); } }

  // The terminal dashboard's keys (src/tui/keys.rs), the same actions.
  function key(ch) {
    if (ch === "c") { contrast(); return; }
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
      case " ": pacePost(play && play.paused ? "resume" : "pause"); break;
      case "+": case "=": pacePost("faster"); break;
      case "-": case "_": pacePost("slower"); break;
    }
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target.tagName;
    if (e.ctrlKey || e.metaKey || e.altKey || t === "INPUT" || t === "SELECT" || t === "TEXTAREA") { return; }
    // Space on a focused button presses it; elsewhere it is the pause key.
    if (e.key === " " && t === "BUTTON") { return; }
    if (e.key.length === 1) {
      if (e.key === " ") { e.preventDefault(); }
      key(e.key);
    } else if (e.key === "Escape" && pick) { pick = null; say("cancelled"); }
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
