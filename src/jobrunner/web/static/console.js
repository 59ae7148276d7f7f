// The operations console: every job of the organization, bulk cancel and retry, retry
// anyway, the live queue, flow control (circuit breakers with a reset) and the workers. Everything goes through /v1/admin with the
// token the jobs page keeps in this tab (jobs.manage_jobs needed).
import { ApiError, createClient } from "/static/jobrunner-client.js";
import { announce, el, showAlert } from "/static/dom.js";

const TOKEN_KEY = "jobrunner.token";
const PAGE_SIZE = 25;
const REFRESH_MS = 10_000;
const SVG = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
const client = createClient({ getToken: () => sessionStorage.getItem(TOKEN_KEY) });
const state = { page: 1, totalPages: 1, filter: {}, selected: new Set(), open: null, timer: null };

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

async function api(method, path, body) {
  return (await client.send(method, path, { body })).data;
}

function explain(error) {
  if (!(error instanceof ApiError)) return "The service did not answer. Check your connection and try again.";
  switch (error.status) {
    case 401: return "Your sign-in is no longer valid. Sign in again on the jobs page.";
    case 403: return "The operations console needs the jobs.manage_jobs permission (administrators).";
    case 404: return "That job no longer exists, or it isn't in your organization.";
    case 409: return `That job's state does not allow it (${error.message}). The list shows its state now.`;
    case 422: {
      const fields = error.errors.map((e) => `${e.loc}: ${e.message}`);
      return `Please check the search: ${fields.join("; ") || error.message}`;
    }
    default: return error.status >= 500 ? "The service had a problem. Please try again in a moment." : error.message;
  }
}

function fail(error) {
  const text = explain(error);
  showAlert(text);
  announce(text);
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    $("app").hidden = true;
    $("sign-in").hidden = error.status === 403;
    clearInterval(state.timer);
  }
}

// ---------- the queue ----------

function chart(buckets) {
  const width = 360, height = 120, pad = 18, gap = 4;
  const top = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed));
  const slot = (width - pad) / buckets.length;
  const total = (key) => buckets.reduce((n, b) => n + b[key], 0);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height + pad}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Last hour: ${total("succeeded")} succeeded, ${total("failed")} failed`);
  svg.setAttribute("class", "throughput");
  buckets.forEach((b, i) => {
    const x = pad + i * slot + gap / 2;
    const ok = (b.succeeded / top) * height, bad = (b.failed / top) * height;
    for (const [cls, h, y] of [["ok", ok, height - ok], ["bad", bad, height - ok - bad]]) {
      if (h <= 0) continue;
      const rect = document.createElementNS(SVG, "rect");
      Object.entries({ x, y, width: slot - gap, height: h, class: cls }).forEach(([k, v]) => rect.setAttribute(k, v));
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${new Date(b.start).toLocaleTimeString()}: ${b.succeeded} succeeded, ${b.failed} failed`;
      rect.append(title);
      svg.append(rect);
    }
  });
  const axis = document.createElementNS(SVG, "line");
  Object.entries({ x1: pad, y1: height, x2: width, y2: height, class: "axis" }).forEach(([k, v]) => axis.setAttribute(k, v));
  const label = document.createElementNS(SVG, "text");
  Object.entries({ x: 0, y: 12, class: "axis-label" }).forEach(([k, v]) => label.setAttribute(k, v));
  label.textContent = String(top);
  svg.append(axis, label);
  return svg;
}

async function loadQueue() {
  let queue;
  try {
    queue = await api("GET", "/v1/admin/queue");
  } catch (error) {
    fail(error);
    return;
  }
  $("queue-running").textContent = `${queue.running} of ${queue.maxRunning}`;
  $("queue-oldest").textContent = duration(queue.oldestWaitingSeconds);
  const ok = queue.lastHour.reduce((n, b) => n + b.succeeded, 0);
  const bad = queue.lastHour.reduce((n, b) => n + b.failed, 0);
  $("queue-hour").textContent = `${ok} succeeded · ${bad} failed`;
  $("queue-chart").replaceChildren(chart(queue.lastHour));
  $("waiting").tBodies[0].replaceChildren(...queue.waiting.map((w) => el("tr", {},
    el("td", {}, w.jobType), el("td", {}, String(w.due)), el("td", {}, String(w.scheduled)),
    el("td", {}, when(w.oldestDueSince)))));
  $("waiting-empty").hidden = queue.waiting.length > 0;
}

// ---------- flow control ----------

const BREAKER_STATES = { closed: "Running", open: "Paused: receiver failing", half_open: "Trying one job" };

function limitLines(flow) {
  const lines = flow.jobTypeCaps.map((c) => [c.jobType, [
    c.maxRunning !== null ? `at most ${c.maxRunning} running on the whole cluster` : null,
    c.maxRunningPerOrganization !== null ? `${c.maxRunningPerOrganization} per organization` : null,
  ].filter(Boolean).join(", ")]);
  for (const r of flow.rateLimits) {
    const used = r.usedByOrganization !== null ? ` (${r.usedByOrganization} used now)` : "";
    lines.push([r.jobType || "All job types",
      `at most ${r.maxStarts} starts per ${duration(r.periodSeconds)} ${r.scope === "cluster" ? "on the whole cluster" : "per organization"}${used}`]);
  }
  return lines.length ? lines.map(([what, text]) => el("li", {}, el("strong", {}, what), `: ${text}`))
    : [el("li", {}, "No caps or rate limits.")];
}

async function loadFlow() {
  let flow;
  try {
    flow = await api("GET", "/v1/admin/flow");
  } catch (error) {
    fail(error);
    return;
  }
  $("flow-tier").textContent = flow.organization.tier || "—";
  $("flow-limit").textContent = `${flow.organization.maxRunning} jobs`;
  $("flow-weight").textContent = String(flow.organization.weight);
  $("breakers").tBodies[0].replaceChildren(...flow.breakers.map((b) => {
    const reset = el("button", { type: "button", class: "secondary", "data-reset": b.jobType,
      "aria-label": `Reset the ${b.jobType} circuit breaker` }, "Reset");
    // Only the organization's own breaker; a shared one is the operators' (jobrunner flow reset).
    reset.hidden = b.state === "closed" || b.scope !== "organization";
    reset.addEventListener("click", () => resetBreaker(b.jobType));
    return el("tr", { "data-breaker": b.jobType, "data-state": b.state },
      el("td", {}, b.jobType, b.scope === "cluster" ? el("span", { class: "help" }, " (all organizations)") : null),
      el("td", {}, BREAKER_STATES[b.state] || b.state),
      el("td", {}, `${b.failures} of ${b.failureThreshold}`),
      el("td", {}, b.state === "open" ? when(b.retryAt) : "—"), el("td", {}, reset));
  }));
  $("breakers-empty").hidden = flow.breakers.length > 0;
  $("flow-limits").replaceChildren(...limitLines(flow));
}

async function resetBreaker(jobType) {
  if (!window.confirm(`Resume your organization's ${jobType} jobs now?`)) return;
  try {
    await api("POST", `/v1/admin/breakers/${encodeURIComponent(jobType)}/reset`);
    announce(`${jobType}: circuit breaker reset, its jobs run again`);
  } catch (error) {
    fail(error);
  }
  await Promise.all([loadFlow(), loadQueue()]);
}

async function loadWorkers() {
  let answer;
  try {
    answer = await api("GET", "/v1/admin/workers");
  } catch (error) {
    fail(error);
    return;
  }
  $("workers").tBodies[0].replaceChildren(...answer.workers.map((w) => el("tr", { "data-worker": w.id },
    el("td", {}, w.hostname), el("td", {}, String(w.pid)), el("td", {}, `${w.slotsInUse} of ${w.slots}`),
    el("td", {}, String(w.slotsInUseByOrganization)),
    el("td", {}, `${duration(w.heartbeatAgeSeconds)} ago${w.stale ? " (stale)" : ""}`))));
  $("workers-empty").hidden = answer.workers.length > 0;
}

// ---------- the jobs ----------

function readFilter() {
  const form = new FormData($("search"));
  const filter = {};
  for (const [key, value] of form.entries()) {
    if (!value) continue;
    if (key === "status") filter.status = [value];
    else if (key === "createdFrom" || key === "createdTo") filter[key] = new Date(value).toISOString();
    else filter[key] = value.trim();
  }
  return filter;
}

function query(filter, page) {
  const params = new URLSearchParams({ page: String(page), pageSize: String(PAGE_SIZE) });
  for (const [key, value] of Object.entries(filter)) {
    for (const one of [].concat(value)) params.append(key, one);
  }
  return params;
}

function syncBulkButtons() {
  const none = state.selected.size === 0;
  $("cancel-selected").disabled = none;
  $("retry-selected").disabled = none;
  $("cancel-selected").textContent = none ? "Cancel selected" : `Cancel selected (${state.selected.size})`;
  $("retry-selected").textContent = none ? "Retry selected" : `Retry selected (${state.selected.size})`;
}

function jobRow(job) {
  const checkbox = el("input", {
    type: "checkbox", "aria-label": `Select job ${job.id}`, checked: state.selected.has(job.id),
    onchange: (event) => {
      if (event.target.checked) state.selected.add(job.id);
      else state.selected.delete(job.id);
      syncBulkButtons();
    },
  });
  return el("tr", { "data-job-id": job.id },
    el("td", {}, checkbox),
    el("td", {}, el("button", { type: "button", class: "link", "aria-label": `Open job ${job.id}`, onclick: () => openJob(job.id) },
      el("code", {}, job.id.slice(0, 8)))),
    el("td", {}, job.userId),
    el("td", {}, job.jobType),
    el("td", {}, el("span", { class: `badge ${job.status}` }, job.status)),
    el("td", {}, `${job.retryCount} of ${job.maxRetries}`),
    el("td", {}, when(job.createdAt)));
}

async function loadJobs() {
  const table = $("jobs-table");
  table.setAttribute("aria-busy", "true");
  let answer;
  try {
    answer = await api("GET", `/v1/admin/jobs?${query(state.filter, state.page)}`);
  } catch (error) {
    fail(error);
    table.setAttribute("aria-busy", "false");
    return;
  }
  showAlert("");
  state.totalPages = Math.max(answer.totalPages, 1);
  table.tBodies[0].replaceChildren(...answer.jobs.map(jobRow));
  $("jobs-empty").hidden = answer.jobs.length > 0;
  $("select-all").checked = answer.jobs.length > 0 && answer.jobs.every((job) => state.selected.has(job.id));
  const count = `${answer.totalCapped ? "more than " : ""}${answer.total} job${answer.total === 1 ? "" : "s"}`;
  $("page-info").textContent = `Page ${answer.page} of ${state.totalPages} · ${count}`;
  $("prev-page").disabled = answer.page <= 1;
  $("next-page").disabled = answer.page >= state.totalPages;
  table.setAttribute("aria-busy", "false");
}

async function bulk(action, body, what) {
  if (!window.confirm(`${action === "cancel" ? "Cancel" : "Retry"} ${what}?`)) return;
  try {
    const answer = await api("POST", `/v1/admin/jobs/${action}`, body);
    state.selected.clear();
    syncBulkButtons();
    announce(answer.message);
    showAlert("");
    $("page-info").dataset.lastAction = answer.message;
  } catch (error) {
    fail(error);
    return;
  }
  await Promise.all([loadJobs(), loadQueue(), state.open ? openJob(state.open, false) : null]);
}

// ---------- one job ----------

function historyItem(entry) {
  const who = entry.actor === "system" ? "the system" : entry.userName || entry.userId || "a user";
  const details = Object.keys(entry.details).length ? JSON.stringify(entry.details) : "";
  return el("li", { "data-action": entry.action },
    el("strong", {}, entry.action), ` by ${who} · ${when(entry.at)}`,
    details ? el("div", { class: "help" }, details) : null);
}

async function openJob(id, focus = true) {
  let detail;
  try {
    detail = await api("GET", `/v1/admin/jobs/${encodeURIComponent(id)}`);
  } catch (error) {
    fail(error);
    return;
  }
  state.open = id;
  const job = detail.job;
  $("detail-title").textContent = `Job ${job.id}`;
  const fields = [
    ["Type", job.jobType], ["State", job.status], ["Created by", job.userId], ["Created", when(job.createdAt)],
    ["Started", when(job.startedAt)], ["Completed", when(job.completedAt)],
    ["Retries", `${job.retryCount} of ${job.maxRetries}`], ["Attempts", String(detail.attempts)],
    ["Worker", detail.lockedBy || "—"], ["Error", job.errorMessage || "—"],
  ];
  $("detail-fields").replaceChildren(...fields.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
  $("history").replaceChildren(...detail.history.map(historyItem));
  $("detail-payload").textContent = JSON.stringify(job.payload, null, 2);
  $("detail-result").textContent = job.result === null ? "—" : JSON.stringify(job.result, null, 2);
  $("detail-retry").hidden = !detail.canRetryAnyway;
  $("detail-exception").hidden = !(detail.canRetryAnyway && !detail.canRetry);
  $("detail-cancel").hidden = !detail.canCancel;
  $("detail").hidden = false;
  if (focus) $("detail").focus();
}

async function retryAnyway() {
  try {
    const answer = await api("POST", `/v1/admin/jobs/${encodeURIComponent(state.open)}/retry`);
    announce(answer.message);
  } catch (error) {
    fail(error);
  }
  await Promise.all([openJob(state.open, false), loadJobs(), loadQueue()]);
}

// ---------- wiring ----------

async function enter() {
  let me;
  try {
    me = await api("GET", "/v1/me");
  } catch (error) {
    $("sign-in").hidden = false;
    fail(error);
    return;
  }
  $("who-name").textContent = `${me.displayName || me.userId} · ${me.organizationId}`;
  if (!me.permissions.includes("jobs.manage_jobs")) {
    fail(new ApiError(403, { detail: "missing permission jobs.manage_jobs" }));
    return;
  }
  $("sign-in").hidden = true;
  $("app").hidden = false;
  await Promise.all([loadQueue(), loadJobs(), loadWorkers(), loadFlow()]);
  clearInterval(state.timer);
  state.timer = setInterval(() => { if (!document.hidden) { loadQueue(); loadWorkers(); loadFlow(); } }, REFRESH_MS);
}

function init() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    enter();
  });
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    state.filter = readFilter();
    state.page = 1;
    loadJobs();
  });
  $("select-all").addEventListener("change", (event) => {
    for (const row of $("jobs-table").tBodies[0].rows) {
      const box = row.querySelector("input[type=checkbox]");
      box.checked = event.target.checked;
      if (box.checked) state.selected.add(row.dataset.jobId);
      else state.selected.delete(row.dataset.jobId);
    }
    syncBulkButtons();
  });
  const selection = () => ({ jobIds: [...state.selected] });
  $("cancel-selected").addEventListener("click", () => bulk("cancel", selection(), `${state.selected.size} selected jobs`));
  $("retry-selected").addEventListener("click", () => bulk("retry", selection(), `${state.selected.size} selected jobs`));
  $("cancel-matching").addEventListener("click", () => bulk("cancel", { filter: state.filter }, "every cancellable job matching the search"));
  $("retry-matching").addEventListener("click", () => bulk("retry", { filter: state.filter }, "every failed job matching the search"));
  $("prev-page").addEventListener("click", () => { state.page -= 1; loadJobs(); });
  $("next-page").addEventListener("click", () => { state.page += 1; loadJobs(); });
  $("refresh-queue").addEventListener("click", () => { loadQueue(); loadWorkers(); loadFlow(); });
  $("close-detail").addEventListener("click", () => { $("detail").hidden = true; state.open = null; });
  $("detail-retry").addEventListener("click", retryAnyway);
  $("detail-cancel").addEventListener("click", () => bulk("cancel", { jobIds: [state.open] }, "this job"));
  if (sessionStorage.getItem(TOKEN_KEY)) enter();
  else $("sign-in").hidden = false;
}

init();
