// The NATS dashboard page: polls api/state, listens to api/feed (server-sent events). Everything that
// comes from the server is written with textContent, never as HTML.
"use strict";

const boot = JSON.parse(document.querySelector('meta[name="nats-dashboard"]').content);
let token = boot.token;
let lastState = null;
let failures = 0;

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "title") node.title = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c === undefined || c === null ? "" : c);
  return node;
};

const fmt = {
  int: (v) => (typeof v === "number" ? Math.round(v).toLocaleString("en-US") : v === undefined || v === null ? "–" : String(v)),
  ms: (v) => (typeof v === "number" ? `${v < 10 ? v.toFixed(1) : Math.round(v)} ms` : "–"),
  us: (v) => (typeof v === "number" ? (v >= 1000 ? `${(v / 1000).toFixed(1)} ms` : `${Math.round(v)} µs`) : "–"),
  rate: (v) => (typeof v === "number" ? `${v < 10 ? v.toFixed(1) : Math.round(v)}/s` : "–"),
  bytes: (v) => {
    if (typeof v !== "number") return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let n = v, i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
  },
  age: (v) => {
    if (typeof v !== "number") return "none";
    const s = v / 1000;
    if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  },
  time: (v) => {
    if (v === undefined || v === null || v === "") return "–";
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleTimeString();
  },
};

const pick = (obj, path) => path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);

function banner(text) {
  const b = $("banner");
  b.hidden = !text;
  b.textContent = text || "";
}

function rows(tbody, items, cells) {
  tbody.replaceChildren(...items.map((item) => el("tr", {}, ...cells(item).map((c) => (c instanceof Node ? c : el("td", {}, c))))));
  if (items.length === 0) tbody.append(el("tr", {}, el("td", { class: "muted", colspan: "9" }, "none")));
}

function sparkline(values) {
  const svg = $("spark");
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * 120},${24 - (v / max) * 22 - 1}`).join(" ");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", pts || "0,23 120,23");
  svg.replaceChildren(line);
}

function render(s) {
  lastState = s;
  for (const node of document.querySelectorAll("[data-k]")) {
    const v = pick(s, node.dataset.k);
    node.textContent = (fmt[node.dataset.f] || fmt.int)(v);
  }
  // Parts that are switched off say so instead of showing dashes.
  const off = [["inbox.pending", !s.inbox.durable, "off"], ["alertmanager.firingGroups", !s.alertmanager.enabled, "off"], ["events.streamInfo.messages", !s.events.enabled, "off"]];
  for (const [k, isOff, text] of off) for (const node of document.querySelectorAll(`[data-k="${k}"]`)) {
    node.classList.toggle("off", isOff);
    if (isOff) node.textContent = text;
  }
  const c = s.connection;
  $("conn").textContent = c.connected ? "connected" : "disconnected";
  $("conn").className = `badge ${c.connected ? "ok" : "bad"}`;
  $("server").textContent = `${c.server || c.url}`;
  $("updated").textContent = new Date(s.generatedAt).toLocaleTimeString();
  sparkline((s.events && s.events.publishHistory) || []);

  rows($("wakes"), s.wake.recent, (w) => [
    fmt.time(w.at), w.from || "?", w.sessionKey || w.subject,
    el("td", { class: w.priority === "urgent" ? "urgent" : "" }, w.priority || "–"),
    el("td", { class: w.outcome === "rejected" ? "rejected" : "", title: w.reason || "" }, w.outcome === "rejected" ? `rejected: ${w.reason}` : w.outcome),
  ]);
  $("dlqSource").textContent = s.dlq.stream ? `(stream ${s.dlq.stream})` : `(${s.dlq.subject}, seen live)`;
  rows($("dlq"), s.dlq.entries, (d) => [fmt.time(d.at), d.subject || "?", el("td", { class: "rejected", title: d.data }, d.reason)]);
  const am = s.alertmanager;
  rows($("alerts"), (am && am.recent) || [], (n) => [fmt.time(n.at), n.alertnames.join(", "), `${n.firing}/${n.firing + n.resolved}`, n.sessionKey ? `${n.outcome} → ${n.sessionKey}` : n.outcome]);

  $("agents").replaceChildren(...(s.agents.length === 0 ? [el("div", { class: "muted" }, "no agents")] : s.agents.map((a) =>
    el("div", { class: "agent" },
      el("b", {}, a.id), a.default ? el("span", { class: "pill" }, "default") : "", el("span", { class: "muted" }, ` ${fmt.int(a.sessionCount)} session(s)`),
      el("table", {}, el("tbody", {}, ...(a.sessions || []).map((x) => el("tr", {}, el("td", {}, x.sessionKey), el("td", { class: "muted" }, x.channel || ""), el("td", { class: "muted" }, fmt.time(x.updatedAt)))))),
    ))));
  const agentSelect = $("fAgent");
  const known = new Set([...agentSelect.options].map((o) => o.value));
  for (const a of s.agents) if (!known.has(a.id)) agentSelect.append(el("option", { value: a.id }, a.id));
  $("config").textContent = JSON.stringify(s.config, null, 2);
}

async function refresh() {
  try {
    const res = await fetch(`${boot.api}/state?t=${encodeURIComponent(token)}`, { credentials: "omit", cache: "no-store" });
    const s = await res.json();
    if (res.status === 401 && s.reload) {
      // the page token ran out (or the gateway restarted): reloading the page passes gateway auth again
      banner("session expired: reloading…");
      setTimeout(() => location.reload(), 1000);
      return;
    }
    if (!s.ok) throw new Error(s.error || `HTTP ${res.status}`);
    token = s.token;
    failures = 0;
    banner("");
    render(s);
  } catch (err) {
    failures++;
    banner(`${err.message || err}${lastState ? " (showing the last data)" : ""}`);
  }
}

// Live feed -----------------------------------------------------------------------------------------
const FEED_ROWS = 200;
const BUFFER_MAX = 1000;
let source = null;
let paused = false;
let buffered = [];
const seenTypes = new Set();

function feedRow(e, fresh) {
  const tr = el("tr", { class: fresh ? "fresh" : "" },
    el("td", {}, new Date(e.ts).toLocaleTimeString()), el("td", {}, e.agent), el("td", {}, e.type),
    el("td", { class: "muted" }, e.session || ""), el("td", { class: "preview" }, e.preview));
  tr.dataset.type = e.type;
  return tr;
}

function showEvents(events) {
  const body = $("feed");
  if (body.firstChild && body.firstChild.dataset.empty) body.replaceChildren();
  for (const e of events) body.prepend(feedRow(e, true));
  while (body.childElementCount > FEED_ROWS) body.lastChild.remove();
}

function onEvent(e) {
  if (!seenTypes.has(e.type)) {
    seenTypes.add(e.type);
    $("types").append(el("option", { value: e.type }));
  }
  if (paused) {
    buffered.push(e);
    if (buffered.length > BUFFER_MAX) buffered.shift();
    $("buffered").textContent = `${buffered.length} new while paused`;
  } else showEvents([e]);
}

function connectFeed() {
  if (source) source.close();
  const q = new URLSearchParams({ t: token });
  if ($("fAgent").value) q.set("agent", $("fAgent").value);
  if ($("fType").value.trim()) q.set("type", $("fType").value.trim());
  source = new EventSource(`${boot.api}/feed?${q}`);
  source.addEventListener("hello", () => ($("feedState").textContent = "· live"));
  source.addEventListener("event", (m) => onEvent(JSON.parse(m.data)));
  source.addEventListener("dropped", (m) => ($("feedState").textContent = `· live (${JSON.parse(m.data).count} skipped: page too slow)`));
  source.addEventListener("bye", () => connectFeed());
  source.onerror = () => {
    $("feedState").textContent = "· reconnecting…";
    if (source.readyState === EventSource.CLOSED) setTimeout(connectFeed, 2000);
  };
}

$("pause").addEventListener("click", () => {
  paused = !paused;
  $("pause").textContent = paused ? "Resume" : "Pause";
  $("pause").classList.toggle("on", paused);
  if (!paused) {
    showEvents(buffered);
    buffered = [];
    $("buffered").textContent = "";
  }
});
$("fAgent").addEventListener("change", connectFeed);
let typeTimer = null;
$("fType").addEventListener("input", () => {
  clearTimeout(typeTimer);
  typeTimer = setTimeout(connectFeed, 400);
});

const waiting = el("tr", {}, el("td", { class: "muted", colspan: "5" }, "waiting for events…"));
waiting.dataset.empty = "1";
$("feed").append(waiting);
refresh();
setInterval(refresh, boot.refreshMs || 3000);
connectFeed();
