// The mock's inspector: polls the journal, shows it newest first, and drives the admin API.
// It loads the journal once, then asks only for what came after its cursor (?since=).
// Request bodies are attacker-controlled: every value reaches the page as text (textContent
// or a text node), never as markup.
"use strict";

const POLL_MS = 1000;
const ROW_VIOLATIONS = 2;  // a row shows this many, then "+N more"; the detail pane all
// The admin token: from the fragment (/__mock/#token=T: never sent to a server, so never in
// a log) or the query (?token=T, kept for old links), then out of the address bar; kept for
// this tab only, so a reload still works.
const TOKEN = (() => {
  const given = new URLSearchParams(location.hash.slice(1)).get("token") ||
    new URLSearchParams(location.search).get("token");
  if (given) {
    sessionStorage.setItem("runware-mock-token", given);
    history.replaceState(null, "", location.pathname);
  }
  return given || sessionStorage.getItem("runware-mock-token");
})();
const $ = (id) => document.getElementById(id);

const state = {
  entries: [],        // newest first
  cursor: "0",        // the journal's cursor: "0" until the first answer (everything)
  loaded: false,      // the first answer has come: until then, no "No requests yet"
  selected: null,     // id of the entry shown in the detail pane
  defaultDelivery: null,
  models: [],         // the loaded models, [{modelId, title, defaultDeliveryMethod}]
  searchText: new Map(),
};
// The model filter's value for tasks whose model no loaded document describes.
const NOT_LOADED = "\u0000not-loaded";

// -- helpers ------------------------------------------------------------------------------

// An element with a class and children: strings become text nodes, never markup.
function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// fetch() relative to /__mock/, with the admin token; throws with the mock's own message.
async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (TOKEN) headers["X-Runware-Mock-Token"] = TOKEN;
  const response = await fetch(path, { ...options, headers, cache: "no-store" });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body && body.errors && body.errors[0];
    throw new Error(`${response.status}: ${error ? error.message : response.statusText}`);
  }
  return body;
}

function pretty(value) {
  if (value === null || value === undefined) return "(none)";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function clock(epochSeconds) {
  const d = new Date(epochSeconds * 1000);
  return `${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

// "settings.topP is 7, above …" with the parameter in bold; "name: message" when the
// message does not start with it.
function violationLine(v) {
  const name = v.parameter || v.code || "request";
  const rest = v.message.startsWith(`${name} `) ? v.message.slice(name.length)
    : `: ${v.message}`;
  const line = el("span", "violation", el("span", "param", name), rest);
  line.title = name + rest;  // a row cuts it to one line
  return line;
}

// A table cell cut to its column (CSS), with its whole text as a tooltip.
function textCell(className, value, title) {
  const td = el("td", className, value);
  td.title = title === undefined ? td.textContent : title;
  return td;
}

function statusBadge(status) {
  return el("span", `status s${String(status)[0]}`, status);
}

// -- the journal --------------------------------------------------------------------------

function filters() {
  return {
    verdict: $("filter-verdict").value,
    status: $("filter-status").value,
    model: $("filter-model").value,
    text: $("filter-text").value.trim().toLowerCase(),
  };
}

// What the search box looks in: ids, tasks (taskUUID, model, …), the request (messages),
// violations and fault; computed once per entry.
function searchable(entry) {
  let text = state.searchText.get(entry.id);
  if (text === undefined) {
    text = [entry.id, entry.path, entry.fault, JSON.stringify(entry.tasks),
            JSON.stringify(entry.request), JSON.stringify(entry.violations),
            JSON.stringify(entry.drift || [])]
      .join("\n").toLowerCase();
    state.searchText.set(entry.id, text);
  }
  return text;
}

function shown(entry, f) {
  if (f.verdict === "valid" && !entry.valid) return false;
  if (f.verdict === "invalid" && entry.valid) return false;
  if (f.status && String(entry.status)[0] !== f.status) return false;
  if (f.model && !entry.tasks.some((t) => modelMatches(t.model, f.model))) return false;
  return !f.text || searchable(entry).includes(f.text);
}

function modelMatches(model, wanted) {
  if (wanted !== NOT_LOADED) return model === wanted;
  return typeof model === "string" && !state.models.some((m) => m.modelId === model);
}

// The documented default deliveryMethod of a task's model (the first document's otherwise).
function defaultDelivery(task) {
  const own = state.models.find((m) => m.modelId === task.model);
  return own && own.defaultDeliveryMethod ? own.defaultDeliveryMethod : state.defaultDelivery;
}

function verdictCell(entry) {
  const cell = el("td", "verdict");
  if (entry.valid) {
    cell.append(el("span", "badge valid", "valid"));
    return withDrift(cell, entry);
  }
  entry.violations.slice(0, ROW_VIOLATIONS).forEach((v) => cell.append(violationLine(v)));
  const hidden = entry.violations.length - ROW_VIOLATIONS;
  if (hidden > 0) {
    const more = el("span", "more", `+${hidden} more`);
    more.title = "Open the request to see every violation";
    cell.append(more);
  }
  return withDrift(cell, entry);
}

// The proxy's verdict on the server's reply (docs/proxy.md): drift is the server's fault,
// where violations are the client's. The mock's own entries have none.
function driftLine(d) {
  const line = violationLine(d);
  line.classList.add("drift");
  return line;
}

function withDrift(cell, entry) {
  const drift = entry.drift || [];
  if (drift.length) {
    cell.append(el("span", "badge drift", `server drift (${drift.length})`));
    drift.slice(0, ROW_VIOLATIONS).forEach((d) => cell.append(driftLine(d)));
  }
  return cell;
}

function row(entry) {
  const task = entry.tasks[0] || {};
  const extra = entry.tasks.length > 1 ? ` +${entry.tasks.length - 1}` : "";
  const fallback = defaultDelivery(task);
  const delivery = task.deliveryMethod ||
    (task.taskType === "textInference" && fallback
      ? el("span", "muted", fallback, el("span", "default", " (default)"))
      : "—");
  // A batch may mix models: each one once.
  const models = [...new Set(entry.tasks.map((t) => t.model).filter((m) => m))];
  const tr = el("tr", entry.id === state.selected ? "selected" : "",
    textCell("mono", clock(entry.received), new Date(entry.received * 1000).toISOString()),
    textCell("", (task.taskType || "—") + extra),
    textCell("uuid", task.taskUUID || "—"),
    textCell("", models.join(", ") || "—"),
    textCell("", delivery),
    verdictCell(entry),
    textCell("", statusBadge(entry.status), ""),
    textCell("num", `${entry.latencyMs.toFixed(1)} ms`, ""),
    textCell("fault", entry.fault ? el("span", "clamp", entry.fault) : "", entry.fault || ""));
  tr.dataset.id = entry.id;
  tr.tabIndex = 0;
  return tr;
}

function renderJournal() {
  const f = filters();
  const visible = state.entries.filter((e) => shown(e, f));
  $("journal").tBodies[0].replaceChildren(...visible.map(row));
  if (!state.loaded) return;  // the loading note stays until the first answer
  $("journal-pane").removeAttribute("aria-busy");
  $("count").textContent = `${visible.length} of ${state.entries.length} requests`;
  $("empty").hidden = visible.length > 0;
  $("empty").classList.remove("loading");
  $("empty").textContent = state.entries.length
    ? "No request matches the filters."
    : "No requests yet. POST tasks to /v1 and they appear here, newest first.";
}

// -- the detail pane ----------------------------------------------------------------------

function openEntry(id) {
  const entry = state.entries.find((e) => e.id === id);
  state.selected = entry ? id : null;
  $("detail").hidden = !entry;
  for (const tr of $("journal").tBodies[0].rows) {
    tr.classList.toggle("selected", tr.dataset.id === state.selected);
  }
  if (!entry) return;
  $("detail-title").textContent = `${entry.method} ${entry.path}`;
  const facts = [["id", entry.id], ["received (UTC)", new Date(entry.received * 1000).toISOString()],
    ["status", statusBadge(entry.status)], ["latency", `${entry.latencyMs.toFixed(3)} ms`],
    ["API key", entry.apiKey || "(none)"], ["fault", entry.fault || "(none)"]];
  $("detail-facts").replaceChildren(
    ...facts.flatMap(([name, value]) => [el("dt", "", name), el("dd", "", value)]));
  // Which task a violation is about matters only when the request holds several.
  const several = entry.tasks.length > 1;
  const verdict = entry.valid ? [el("span", "badge valid", "valid")]
    : entry.violations.map((v) => el("div", "", violationLine(v),
        several && v.taskUUID ? el("span", "more", `task ${v.taskUUID}`) : null));
  const drift = (entry.drift || []).map((d) => el("div", "", driftLine(d),
    el("span", "more", `server, ${d.where || "reply"}`)));
  $("detail-verdict").replaceChildren(...verdict, ...drift);
  $("detail-request").textContent = pretty(entry.request);
  $("detail-response").textContent = pretty(entry.response);
}

// -- polling ------------------------------------------------------------------------------

function setConnection(kind, text) {
  const badge = $("connection");
  badge.className = `connection ${kind}`;
  badge.textContent = text;
}

// One journal read: what came after the cursor (the whole journal the first time, or when
// the answer says reset: cleared, restarted, or the entries after the cursor are gone).
async function loadJournal() {
  const page = await api(`requests?since=${encodeURIComponent(state.cursor)}`);
  const before = state.entries;
  const added = page.requests.slice().reverse();  // newest first
  // Not reset: what is held stays, but only the newest `total`: older ones were evicted.
  state.entries = page.reset ? added : added.concat(before).slice(0, page.total);
  state.cursor = page.cursor;
  const first = !state.loaded;
  state.loaded = true;
  const same = state.entries.length === before.length &&
    state.entries.every((e, i) => e.id === before[i].id);
  if (same && !first) return;
  const ids = new Set(state.entries.map((e) => e.id));
  for (const id of state.searchText.keys()) if (!ids.has(id)) state.searchText.delete(id);
  renderJournal();
  if (state.selected !== null) openEntry(ids.has(state.selected) ? state.selected : null);
  if (!first) refreshConfig().catch(() => {});  // queued faults count down as requests arrive
}

// Reads one at a time: each answer is relative to the cursor the one before left.
let reading = Promise.resolve();
function refreshJournal() {
  const next = reading.then(loadJournal);
  reading = next.catch(() => {});
  return next;
}

async function poll() {
  if ($("live").checked || !state.loaded) {  // "live" pauses updates, not the first load
    try {
      await refreshJournal();
      setConnection("live", "live");
    } catch (error) {
      setConnection("error", `cannot read the journal (${error.message})`);
      if (!state.loaded) $("empty").textContent = `Cannot read the journal: ${error.message}`;
    }
  } else {
    setConnection("paused", "paused");
  }
  setTimeout(poll, POLL_MS);
}

// -- config, rules and faults -------------------------------------------------------------

// One titled block of the config section: pretty JSON, or "none".
function section(title, value) {
  const empty = Array.isArray(value) && value.length === 0;
  const count = Array.isArray(value) ? ` (${value.length})` : "";
  return el("div", "", el("h3", "", title + count),
    empty ? el("p", "muted", "none") : el("pre", "json", pretty(value)));
}

// Faults list every field; the unset ones (null) only add noise.
function compact(list) {
  return list.map((item) => Object.fromEntries(
    Object.entries(item).filter(([, value]) => value !== null)));
}

async function refreshConfig() {
  const view = await api("config");
  const delivery = view.document.defaultDeliveryMethod;
  if (delivery !== state.defaultDelivery) {
    state.defaultDelivery = delivery;
    renderJournal();  // rows drawn before the config came show "(default)" now
  }
  setModels(view.models || [view.document]);
  $("document").textContent = state.models.length > 1
    ? `${state.models.length} models · ${view.store}`
    : `${view.document.modelId} · ${view.document.title} · ${view.store}`;
  $("document").title = state.models.map((m) => `${m.modelId} · ${m.title}`).join("\n");
  $("config").replaceChildren(
    section("Queued faults", compact(view.faults.queued)),
    section("Fault rules (config)", compact(view.faults.rules)),
    section("API key profiles", view.faults.keyProfiles),
    section("Reply rules", view.replies),
    section("Config", view.config),
    section("Document", view.document));
}

// The model filter lists the loaded models (shown when there are several), and the tasks
// for a model none of them is.
function setModels(models) {
  const same = models.length === state.models.length &&
    models.every((m, i) => m.modelId === state.models[i].modelId);
  state.models = models;
  if (same) return;
  const select = $("filter-model");
  const chosen = select.value;
  const options = [el("option", "", "all"),
    ...models.map((m) => el("option", "", m.modelId)), el("option", "", "not loaded")];
  options[0].value = "";
  models.forEach((m, i) => { options[i + 1].value = m.modelId; options[i + 1].title = m.title; });
  options[options.length - 1].value = NOT_LOADED;
  select.replaceChildren(...options);
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
  $("filter-model-label").hidden = models.length < 2;
  renderJournal();
}

// -- admin actions ------------------------------------------------------------------------

function report(text, ok) {
  const out = $("fault-result");
  out.className = ok ? "ok" : "error";
  out.textContent = text;
}

async function queueFault() {
  const fault = { status: Number($("fault-status").value), times: Number($("fault-times").value) };
  const code = $("fault-code").value.trim();
  const match = $("fault-match").value;
  if (code) fault.code = code;
  if (match) fault.match = match;
  try {
    const { queued } = await api("faults", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(fault),
    });
    const f = queued[0];
    report(`Queued: ${f.status} ${f.code}, ${f.times === null ? "always" : `×${f.times}`}`, true);
  } catch (error) {
    report(`Not queued: ${error.message}`, false);
  }
  await refreshConfig().catch(() => {});
}

async function clearFaults() {
  try {
    await api("faults", { method: "DELETE" });
    report("Queued faults cleared.", true);
  } catch (error) {
    report(`Not cleared: ${error.message}`, false);
  }
  await refreshConfig().catch(() => {});
}

async function clearJournal() {
  try {
    await api("requests", { method: "DELETE" });
    await refreshJournal();  // the cursor is of the old journal: the answer resets the page
  } catch (error) {
    setConnection("error", `cannot clear the journal (${error.message})`);
  }
}

// -- wiring -------------------------------------------------------------------------------

function start() {
  for (const id of ["filter-verdict", "filter-status", "filter-model", "filter-text"]) {
    $(id).addEventListener("input", renderJournal);
  }
  const body = $("journal").tBodies[0];
  body.addEventListener("click", (event) => {
    const tr = event.target.closest("tr");
    if (tr) openEntry(tr.dataset.id);
  });
  body.addEventListener("keydown", (event) => {
    const tr = event.target.closest("tr");
    if (tr && event.key === "Enter") openEntry(tr.dataset.id);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") openEntry(null);
  });
  $("detail-close").addEventListener("click", () => openEntry(null));
  $("clear-journal").addEventListener("click", clearJournal);
  $("fault-queue").addEventListener("click", queueFault);
  $("fault-clear").addEventListener("click", clearFaults);
  $("config-refresh").addEventListener("click", () => refreshConfig().catch(() => {}));
  // The journal first: it is what the page is for, and its first paint says "loading".
  poll();
  refreshConfig().catch((error) => setConnection("error", error.message));
}

start();
