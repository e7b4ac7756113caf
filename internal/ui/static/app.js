// vigil's live view: streams /api/events into the page the server
// rendered, refreshes the process tree, and applies the filters. Text
// from events is only ever set as textContent.
"use strict";

const maxRows = 500;
const $ = (id) => document.getElementById(id);
let shown = 0;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function details(ev) {
  switch (ev.type) {
    case "exec": return ev.path + " " + (ev.args || []).slice(1).join(" ");
    case "fork": return "child " + ev.child_pid + (ev.thread ? " (thread)" : "");
    case "exit": return ev.signal ? "signal " + (ev.signal_name || ev.signal) : "code " + ev.exit_code;
    case "open": return (ev.resolved_path || ev.path) + " " + (ev.flags || []).join("|") + (ev.error ? " " + ev.error : "");
    case "module": return ev.syscall + " " + (ev.name || ev.path || "");
    case "mprotect": return ev.syscall + " " + (ev.prot || []).join("|") + (ev.wx ? " W^X" : "");
    case "lost": return JSON.stringify(ev.lost);
    default: return "";
  }
}

function chain(ev) {
  const d = el("div", "chain");
  const anc = (ev.process.ancestors || []).slice().reverse();
  for (const a of anc) {
    const s = el("span", "anc", a.comm + " (" + a.pid + ")");
    s.title = a.exe + " " + (a.args || []).join(" ");
    d.append(s, " › ");
  }
  d.append(el("span", "anc self", ev.process.comm + " (" + ev.process.pid + ")"));
  return d;
}

function tag(li, ev) {
  li.dataset.type = ev.type;
  li.dataset.rule = ev.rule || "";
  li.dataset.container = ev.process.container || "";
  li.dataset.pid = ev.process.pid;
}

function eventRow(ev) {
  const li = el("li", "event" + (ev.action ? " alert action-" + ev.action : ""));
  tag(li, ev);
  li.append(el("span", "when", ev.time.slice(11, 23)), " ", el("span", "type", ev.type), " ",
    el("b", "pid", String(ev.process.pid)), " ", el("span", "comm", ev.process.comm), " ",
    el("span", "details", details(ev)));
  if (ev.action) li.append(" ", el("b", "rule", ev.rule), " ", el("span", "action", ev.action));
  return li;
}

function alertRow(ev) {
  const li = el("li", "alert action-" + ev.action);
  tag(li, ev);
  li.append(el("span", "when", ev.time.slice(11, 23)), " ", el("b", "rule", ev.rule), " ",
    el("span", "action", ev.action + (ev.enforced ? " (enforced)" : "")), " ", el("span", "type", ev.type),
    " by ", el("span", "who", ev.process.comm + " (" + ev.process.pid + ")"), chain(ev));
  return li;
}

function prepend(list, li) {
  list.prepend(li);
  while (list.children.length > maxRows) list.lastElementChild.remove();
  applyTo(li);
}

function filters() {
  return { type: $("f-type").value, rule: $("f-rule").value.trim(),
    container: $("f-container").value.trim(), alerts: $("f-alerts").checked };
}

function applyTo(li) {
  const f = filters();
  const ok = (!f.type || li.dataset.type === f.type) && (!f.rule || li.dataset.rule === f.rule) &&
    (!f.container || li.dataset.container === f.container) && (!f.alerts || li.classList.contains("alert"));
  li.classList.toggle("hidden", !ok);
}

function applyTree() {
  const f = filters();
  for (const li of document.querySelectorAll("#tree li.proc")) {
    const rules = li.dataset.rules ? li.dataset.rules.split(" ") : [];
    const ok = (!f.rule || rules.includes(f.rule)) && (!f.container || li.dataset.container === f.container) &&
      (!f.alerts || rules.length > 0);
    li.classList.toggle("dim", !ok);
  }
}

function applyAll() {
  document.querySelectorAll("#alerts li, #events li").forEach(applyTo);
  applyTree();
}

async function refreshTree() {
  try {
    const r = await fetch("/fragment/tree");
    if (r.ok) { $("tree").innerHTML = await r.text(); applyTree(); }
  } catch (e) { /* the agent stopped; the stream's status says so */ }
}

function connect() {
  const es = new EventSource("/api/events");
  es.onopen = () => { $("status").textContent = "live: streaming events (read-only)"; };
  es.onerror = () => { $("status").textContent = "disconnected: retrying"; };
  es.onmessage = (m) => {
    const ev = JSON.parse(m.data);
    prepend($("events"), eventRow(ev));
    $("event-count").textContent = "(" + (++shown) + ")";
    if (ev.action) { prepend($("alerts"), alertRow(ev)); refreshSoon(); }
  };
  es.addEventListener("dropped", (m) => {
    $("status").textContent = "live: this view could not keep up, " + m.data + " events dropped";
  });
}

let pending = null;
function refreshSoon() {
  if (!pending) pending = setTimeout(() => { pending = null; refreshTree(); }, 500);
}

// Inline handlers are refused by the page's Content-Security-Policy.
$("filters").addEventListener("submit", (e) => e.preventDefault());
for (const id of ["f-type", "f-rule", "f-container", "f-alerts"]) $(id).addEventListener("input", applyAll);
setInterval(refreshTree, 5000);
connect();
