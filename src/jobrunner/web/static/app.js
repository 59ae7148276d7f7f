// The jobs page: sign in, start an export, an import or a job from a template, watch my jobs live, cancel, retry,
// run again, download. Everything goes through the public API with jobrunner-client.js
// (demo sign-in aside). job-row.js draws each job; words.js says what a job is and how it
// does, in a person's words; upload.js sends an import's file.
import { ApiError, PushUnavailable, allowedActions, createClient, isFinal } from "/static/jobrunner-client.js";
import { announce, el, showAlert } from "/static/dom.js";
import { buildRow, fillDetails, paintRow } from "/static/job-row.js";
import { importRequest, uploadFile } from "/static/upload.js";
import { loadSchedules } from "/static/schedules.js";
import { describe, failureText, humanSize, rememberUploadName, runSeconds } from "/static/words.js";

const TOKEN_KEY = "jobrunner.token";
const PAGE_SIZE = 20;
const ACTIVITY_MAX_AGE_MS = 5000;
const PUSH_CONNECT_MS = 5000; // the event stream not open by then: poll meanwhile
// A pending webhook shown in open details is read again this long after its next attempt is
// due (the attempt takes a moment), and at least every 10 s (an attempt under way holds the
// delivery, and shows its nextAttemptAt, until its deadline: it may end much sooner).
const DELIVERY_GRACE_MS = 1000;
const DELIVERY_MAX_WAIT_MS = 10_000;
const FIELD_NAMES = {
  "payload.reportType": "Report", "payload.format": "Format", "payload.filters.dateFrom": "From",
  "payload.filters.dateTo": "To", priority: "Priority", maxRetries: "Retries", scheduledAt: "Scheduled time",
  idPrefix: "Job id",
};
const STATUS_ORDER = ["running", "retrying", "queued", "failed", "cancelled", "succeeded"];

const $ = (id) => document.getElementById(id);
const client = createClient({ getToken: () => sessionStorage.getItem(TOKEN_KEY) });

const state = {
  me: null,
  page: 1,
  watches: new Map(), // jobId -> AbortController, for the unfinished jobs on screen (when polling)
  stream: null, // AbortController of the event stream of all my jobs (docs/push.md)
  push: "off", // "connecting", "open" (rows follow the stream, nothing is polled) or "off" (rows are polled)
  rows: new Map(), // jobId -> {job, flags, parts, deliveries (read when its details open)}
  names: { templates: new Map(), schedules: new Map() }, // by id, for "From template …" / "From schedule …"
  sort: { key: "created", descending: true },
  activity: null, // GET /v1/me/activity, fetched while queued jobs are on screen
  activityAt: 0,
  loads: 0, // the latest loadJobs call: an older answer arriving late is dropped
};

// ---------- small helpers ----------

const jobTitle = describe;

function can(permission) {
  return Boolean(state.me && state.me.permissions.includes(permission));
}

/** An API error in words a person understands. */
function explain(error, action) {
  if (!(error instanceof ApiError)) return "The service did not answer. Check your connection and try again.";
  switch (error.status) {
    case 401: return "Your sign-in is no longer valid. Please sign in again.";
    case 403: return `You don't have permission to ${action}. Ask an administrator if you need to.`;
    case 404: return "That job no longer exists, or it isn't yours.";
    case 409: return `This job can't be ${action === "cancel this job" ? "cancelled" : "retried"} in its current state: it has probably just finished or changed. The list shows its state now.`;
    case 413: return "That request is too large.";
    case 422: {
      const fields = error.errors.map((e) => `${FIELD_NAMES[e.loc] || e.loc}: ${e.message}`);
      return fields.length ? `Please check: ${fields.join("; ")}` : `Please check the form: ${error.message}`;
    }
    default: return error.status >= 500
      ? "The service had a problem. Please try again in a moment."
      : `The request failed: ${error.message}`;
  }
}

function handleError(error, action) {
  if (error instanceof ApiError && error.status === 401) {
    signOut("Your sign-in is no longer valid. Please sign in again.");
    return;
  }
  const text = explain(error, action);
  showAlert(text);
  announce(text);
}

// ---------- sign-in ----------

async function showSignIn(message = "") {
  $("app").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  showAlert(message);
  const list = $("demo-user-list");
  list.replaceChildren();
  try {
    const response = await fetch("/v1/demo/users", { headers: { Accept: "application/json" } });
    if (!response.ok) return; // not a demo service: paste a token
    const { users } = await response.json();
    for (const user of users) {
      list.append(el("li", {},
        el("button", { type: "button", "data-user": user.userId, onclick: () => demoSignIn(user.userId) },
          `${user.displayName}`,
          el("span", { class: "role" }, `${user.role} · ${user.organizationId}`))));
    }
    $("demo-users").hidden = false;
  } catch {
    // No demo endpoint reachable: the token form is enough.
  }
}

async function demoSignIn(userId) {
  try {
    const response = await fetch("/v1/demo/token", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ userId }),
    });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    const { token } = await response.json();
    await signIn(token);
  } catch (error) {
    handleError(error, "sign in");
  }
}

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  await enterApp();
}

function signOut(message = "") {
  stopStream();
  sessionStorage.removeItem(TOKEN_KEY);
  stopWatching();
  state.me = null;
  state.rows.clear();
  $("job-rows").replaceChildren();
  showSignIn(message);
  if (!message) announce("Signed out");
}

async function enterApp() {
  try {
    state.me = await client.me();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut("That token was not accepted (unknown, expired or for another service). Please sign in again.");
    } else {
      showSignIn(explain(error, "sign in"));
    }
    return;
  }
  showAlert("");
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = `${state.me.displayName || state.me.userId} · ${state.me.organizationId}`;
  $("start").hidden = !(can("jobs.create_jobs") && can("reports.export_reports"));
  $("import").hidden = !(can("jobs.create_jobs") && can("data.process_data"));
  // Offer only the reports this user may run (the others would fail in their first step).
  for (const option of document.querySelectorAll("#report-type option[data-permission]")) {
    option.hidden = option.disabled = !can(option.dataset.permission);
  }
  if ($("report-type").selectedOptions[0]?.disabled) $("report-type").value = "quotes";
  $("console-link").hidden = !can("jobs.manage_jobs");
  $("schedules").hidden = !can("schedules.manage_schedules");
  state.names = { templates: new Map(), schedules: new Map() };
  if (can("schedules.manage_schedules")) {
    loadSchedules(client)
      .then((schedules) => { state.names.schedules = new Map(schedules.map((s) => [s.id, s])); })
      .catch((error) => handleError(error, "see schedules"));
  }
  await loadTemplates();
  announce(`Signed in as ${state.me.displayName || state.me.userId}`);
  state.page = 1;
  startStream();
  await loadJobs();
  $("main").focus({ preventScroll: true });
}

// ---------- the list ----------

/**
 * One event stream for all my jobs (one connection, whatever the number of rows): while it
 * is open, rows follow it and nothing is polled. If the service cannot stream, or the
 * stream is not open within PUSH_CONNECT_MS, the unfinished rows on screen are polled
 * (watchJob's polling rules) until it opens.
 */
function startStream() {
  stopStream();
  const controller = new AbortController();
  state.stream = controller;
  state.push = "connecting";
  const fallback = setTimeout(() => {
    if (state.stream === controller && state.push === "connecting") pollRows();
  }, PUSH_CONNECT_MS);
  client.watchJobs((status) => update(status, { pushed: true }), {
    signal: controller.signal,
    onOpen: () => {
      clearTimeout(fallback);
      state.push = "open";
      stopWatching();
    },
    onResync: () => loadJobs(),
  }).catch((error) => {
    clearTimeout(fallback);
    if (controller.signal.aborted) return;
    if (error instanceof PushUnavailable) pollRows();
    else {
      state.push = "off";
      handleError(error, "see jobs");
    }
  });
}

function stopStream() {
  state.stream?.abort();
  state.stream = null;
  state.push = "off";
}

/** Polling instead of the stream: every unfinished row on screen. */
function pollRows() {
  state.push = "off";
  for (const [id, { job }] of state.rows) if (!isFinal(job.status)) watch(id);
}

function stopWatching() {
  for (const controller of state.watches.values()) controller.abort();
  state.watches.clear();
}

function filtersInUse() {
  const data = new FormData($("filters"));
  return [...data.values()].some((value) => String(value).trim() !== "");
}

async function loadJobs() {
  stopWatching();
  const filters = new FormData($("filters"));
  const idPrefix = String(filters.get("idPrefix") || "").trim();
  const table = $("jobs");
  table.setAttribute("aria-busy", "true");
  const load = ++state.loads;
  let page;
  try {
    page = await client.listJobs({
      page: state.page, pageSize: PAGE_SIZE, status: filters.get("status"), jobType: filters.get("jobType"),
      idPrefix,
    });
  } catch (error) {
    if (load !== state.loads) return;
    handleError(error, "see jobs");
    table.setAttribute("aria-busy", "false");
    return;
  }
  if (load !== state.loads) return; // the filters changed while this page was on its way
  state.rows.clear();
  for (const job of page.jobs) addRow(job);
  drawRows();
  const empty = page.jobs.length === 0;
  const filtered = filtersInUse();
  $("jobs-empty").hidden = !empty;
  $("jobs-empty-text").textContent = filtered ? "No jobs match these filters." : "No jobs here yet.";
  $("clear-filters").hidden = !(empty && filtered);
  table.hidden = empty;
  $("sort-help").hidden = empty;
  $("pager").hidden = page.totalPages <= 1;
  $("page-info").textContent = `Page ${page.page} of ${Math.max(page.totalPages, 1)} · ${page.total} jobs`;
  $("prev-page").disabled = page.page <= 1;
  $("next-page").disabled = page.page >= page.totalPages;
  await refreshActivity(true);
  if (load !== state.loads) return;
  table.setAttribute("aria-busy", "false");
  for (const job of page.jobs) if (!isFinal(job.status)) watch(job.id);
}

/** How busy the organization is, for "5 of 5 running" (only while a job waits on screen). */
async function refreshActivity(force = false) {
  const waiting = [...state.rows.values()].some(({ job }) => job.status === "queued");
  if (!waiting || (!force && Date.now() - state.activityAt < ACTIVITY_MAX_AGE_MS)) return;
  state.activityAt = Date.now();
  try {
    state.activity = await client.send("GET", "/v1/me/activity").then((answer) => answer.data);
  } catch {
    state.activity = null; // the reason is then the plain "waiting for a free worker"
  }
  for (const [id, { job }] of state.rows) if (job.status === "queued") paint(id);
}

function watch(jobId) {
  if (state.push !== "off") return; // the event stream brings its changes (or is about to)
  state.watches.get(jobId)?.abort();
  const controller = new AbortController();
  state.watches.set(jobId, controller);
  // Polling: one stream per row would take the browser's few connections per origin.
  client.watchJob(jobId, (status) => update(status), { signal: controller.signal, push: false })
    .catch((error) => {
      if (!controller.signal.aborted) handleError(error, "see this job");
    })
    .finally(() => {
      if (state.watches.get(jobId) === controller) state.watches.delete(jobId);
    });
}

function addRow(job) {
  const parts = buildRow(job.id, {
    toggle: toggleDetails, cancel: (id) => act(id, "cancel"), retry: (id) => act(id, "retry"),
    again: runAgain, download,
  });
  state.rows.set(job.id, { job, flags: allowedActions(job), parts });
  paint(job.id);
}

function paint(id) {
  paintRow(state.rows.get(id), { can, activity: state.activity, names: state.names });
}

const SORT_KEYS = {
  title: (job) => describe(job).toLowerCase(),
  status: (job) => STATUS_ORDER.indexOf(job.status),
  progress: (job) => job.progress,
  created: (job) => job.createdAt,
  finished: (job) => job.completedAt || "",
  duration: (job) => runSeconds(job) ?? -1,
};

/** The rows in the chosen order (this page's jobs; the API pages newest first). */
function drawRows() {
  const key = SORT_KEYS[state.sort.key];
  const entries = [...state.rows.values()].sort((a, b) => {
    const x = key(a.job);
    const y = key(b.job);
    const order = x < y ? -1 : x > y ? 1 : 0;
    return state.sort.descending ? -order : order;
  });
  $("job-rows").replaceChildren(...entries.flatMap(({ parts }) => [parts.row, parts.detailsRow]));
  for (const th of document.querySelectorAll("#jobs th[data-sort]")) {
    if (th.dataset.sort === state.sort.key) th.setAttribute("aria-sort", state.sort.descending ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
  }
}

function sortBy(key) {
  state.sort = { key, descending: state.sort.key === key ? !state.sort.descending : key !== "title" };
  drawRows();
  const heading = document.querySelector(`#jobs th[data-sort="${key}"]`).textContent.trim();
  announce(`Sorted by ${heading}, ${state.sort.descending ? "descending" : "ascending"}`);
}

/**
 * A status answer from watchJob or after an action: repaint the row, announce changes.
 * `pushed`: it came from the event stream, which leaves a callback job's webhooks out.
 */
function update(status, { pushed = false } = {}) {
  const row = state.rows.get(status.job.id);
  if (!row) return;
  if (status.job.updatedAt < row.job.updatedAt) return; // an older state arriving late
  const before = row.job.status;
  row.job = status.job;
  row.flags = { canCancel: status.canCancel, canRetry: status.canRetry };
  // Polled answers carry a callback job's webhooks; pushed events leave them out (docs/push.md).
  if (!pushed && status.webhookDeliveries) row.deliveries = status.webhookDeliveries;
  paint(status.job.id);
  const opened = !row.parts.detailsRow.hidden;
  if (opened && status.job.callbackUrl && isFinal(status.job.status) && before !== status.job.status) {
    loadDeliveries(status.job.id); // it just finished: its webhook is on its way
  }
  if (status.job.status === "queued") refreshActivity();
  if (before !== status.job.status) {
    const tail = status.job.status === "failed" ? `: ${failureText(status.job)}` : "";
    announce(`${jobTitle(status.job)} is now ${status.job.status}${tail}`);
  }
}

function toggleDetails(id) {
  const row = state.rows.get(id);
  const { parts } = row;
  const open = parts.detailsRow.hidden;
  clearTimeout(row.deliveryTimer);
  if (open) {
    if (row.job.callbackUrl) row.deliveries = undefined; // read afresh: "Reading…" meanwhile
    fillDetails(row, { names: state.names });
  }
  parts.detailsRow.hidden = !open;
  parts.toggle.setAttribute("aria-expanded", String(open));
  if (open && row.job.callbackUrl) loadDeliveries(id);
}

/**
 * A callback job's completion webhooks (only the status answer has them). While one is
 * pending and the details stay open, they are read again when its next attempt is due.
 */
async function loadDeliveries(id) {
  try {
    await refreshRow(id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return handleError(error, "see this job");
    const row = state.rows.get(id);
    if (row) {
      row.deliveries = null;
      paint(id);
    }
    return;
  }
  const row = state.rows.get(id);
  const pending = row && !row.parts.detailsRow.hidden && (row.deliveries || []).find((d) => d.state === "pending");
  if (!pending) return;
  const due = pending.nextAttemptAt ? new Date(pending.nextAttemptAt).getTime() - Date.now() : 0;
  clearTimeout(row.deliveryTimer);
  row.deliveryTimer = setTimeout(() => {
    if (state.rows.get(id) === row && !row.parts.detailsRow.hidden) loadDeliveries(id);
  }, Math.min(Math.max(due, 0) + DELIVERY_GRACE_MS, DELIVERY_MAX_WAIT_MS));
}

async function refreshRow(id) {
  const answer = await client.getStatus(id);
  update(answer.status);
  return answer.status;
}

async function act(id, action) {
  const { parts, job } = state.rows.get(id);
  if (action === "cancel" && !window.confirm(`Cancel ${jobTitle(job)}? Work done so far is discarded.`)) return;
  const button = action === "cancel" ? parts.cancel : parts.retry;
  button.disabled = true;
  showAlert("");
  try {
    if (action === "cancel") await client.cancelJob(id);
    else await client.retryJob(id);
    announce(`${jobTitle(job)}: ${action === "cancel" ? "cancelled" : "retry started"}`);
  } catch (error) {
    handleError(error, action === "cancel" ? "cancel this job" : "retry this job");
  } finally {
    button.disabled = false;
  }
  try {
    const status = await refreshRow(id);
    if (!isFinal(status.job.status)) watch(id);
    // Keep the focus on the row once its button disappears.
    if (button.hidden) parts.toggle.focus();
  } catch (error) {
    handleError(error, "see this job");
  }
}

/** A new job with the same type and parameters (a list may omit a large payload: fetch it). */
async function runAgain(id) {
  const { parts } = state.rows.get(id);
  parts.again.disabled = true;
  showAlert("");
  try {
    let { job } = state.rows.get(id);
    if (!job.payload || job.omitted.includes("payload")) job = (await client.getStatus(id)).status.job;
    await client.createJob({ jobType: job.jobType, payload: job.payload, priority: job.priority, maxRetries: job.maxRetries });
    announce(`${jobTitle(job)} started again`);
    state.page = 1;
    await loadJobs();
  } catch (error) {
    handleError(error, "start jobs");
  } finally {
    parts.again.disabled = false;
  }
}

async function download(id) {
  const { job } = state.rows.get(id);
  try {
    // Links are signed and expire: ask for a fresh one at the moment of the click.
    const status = await refreshRow(id);
    const url = status.job.result && status.job.result.downloadUrl;
    if (!url) throw new Error("no file");
    const link = el("a", { href: url, download: "" });
    document.body.append(link);
    link.click();
    link.remove();
    announce(`Downloading ${jobTitle(job)}`);
  } catch (error) {
    handleError(error, "download this file");
  }
}

// ---------- starting an export ----------

function exportRequest(form) {
  const data = new FormData(form);
  const filters = {};
  if (data.get("dateFrom")) filters.dateFrom = data.get("dateFrom");
  if (data.get("dateTo")) filters.dateTo = data.get("dateTo");
  const payload = { reportType: data.get("reportType"), format: data.get("format") };
  if (Object.keys(filters).length) payload.filters = filters;
  const priorityText = String(data.get("priority") || "0").trim();
  const priority = Number(priorityText);
  // Anything but a number goes as typed, for the API to name in its 422.
  return { jobType: "export_report", payload, priority: priorityText && Number.isFinite(priority) ? priority : priorityText };
}

function showFormErrors(messages, box = $("form-errors"), what = "The export was not started.") {
  box.replaceChildren(el("strong", {}, what),
    el("ul", {}, ...messages.map((m) => el("li", {}, m))));
  box.hidden = messages.length === 0;
}

async function startExport(event) {
  event.preventDefault();
  const form = event.target;
  const request = exportRequest(form);
  // The API checks everything (a 422 names each field); this only saves a pointless job.
  const problems = [];
  const { dateFrom, dateTo } = request.payload.filters || {};
  if (dateFrom && dateTo && dateFrom > dateTo) problems.push("The From date must not be after the To date.");
  showFormErrors(problems);
  if (problems.length) {
    announce(problems.join(" "));
    return;
  }
  const button = $("start-export");
  button.disabled = true;
  try {
    await client.createJob(request);
    announce(`${jobTitle({ jobType: "export_report", payload: request.payload })} started`);
    state.page = 1;
    await loadJobs();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 422 || error.status === 403)) {
      showFormErrors([explain(error, "start exports")]);
      announce(explain(error, "start exports"));
    } else {
      handleError(error, "start exports");
    }
  } finally {
    button.disabled = false;
  }
}

// ---------- starting a job from a template ----------

/** The organization's templates in the "Start from a template" list (hidden when there are none). */
async function loadTemplates() {
  const section = $("templates");
  section.hidden = true;
  if (!can("jobs.create_jobs")) return;
  let answer;
  try {
    answer = await client.listTemplates({ pageSize: 100 });
  } catch {
    return; // templates are optional: the rest of the page works without them
  }
  state.names.templates = new Map(answer.templates.map((template) => [template.id, template.name]));
  const options = answer.templates.map((template) =>
    el("option", { value: template.id }, `${template.name} · ${describe(template)}`));
  $("template-select").replaceChildren(...options);
  section.hidden = options.length === 0;
}

/** A random idempotency key (crypto.randomUUID needs a secure context; getRandomValues does not). */
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function startFromTemplate(event) {
  event.preventDefault();
  const select = $("template-select");
  const box = $("template-errors");
  const name = select.selectedOptions[0]?.textContent || "";
  showFormErrors([], box);
  const button = $("start-template");
  button.disabled = true;
  try {
    // One key per click: a retry of this request after a lost answer starts no second job.
    await client.createJob({ templateId: select.value, idempotencyKey: newKey() });
    announce(`${name} started`);
    state.page = 1;
    await loadJobs();
  } catch (error) {
    if (error instanceof ApiError && [403, 404, 422].includes(error.status)) {
      const text = error.status === 404
        ? "That template no longer exists. The list now shows the current ones."
        : explain(error, "start this job");
      showFormErrors([text], box, "The job was not started.");
      announce(text);
      if (error.status === 404) await loadTemplates();
    } else {
      handleError(error, "start jobs");
    }
  } finally {
    button.disabled = false;
  }
}

// ---------- starting an import ----------

async function startImport(event) {
  event.preventDefault();
  const form = event.target;
  const file = $("import-file").files[0];
  const box = $("import-errors");
  const problem = (messages) => showFormErrors(messages, box, "The import was not started.");
  if (!file) {
    problem(["Choose a CSV file."]);
    announce("Choose a CSV file.");
    return;
  }
  problem([]);
  const button = $("start-import");
  button.disabled = true;
  $("upload-name").textContent = file.name;
  $("upload-progress").hidden = false;
  const showUpload = (fraction) => {
    $("upload-bar").value = Math.round(fraction * 100);
    $("upload-text").textContent = `${humanSize(Math.round(fraction * file.size))} of ${humanSize(file.size)}`;
  };
  showUpload(0);
  try {
    const upload = await uploadFile(file, sessionStorage.getItem(TOKEN_KEY), showUpload);
    showUpload(1);
    rememberUploadName(upload.uploadId, upload.filename || file.name);
    const data = new FormData(form);
    await client.createJob(importRequest(upload.uploadId, data.get("dataset"), data.get("mode")));
    announce(`Import of ${file.name} started`);
    form.reset();
    $("upload-progress").hidden = true;
    state.page = 1;
    await loadJobs();
  } catch (error) {
    $("upload-progress").hidden = true;
    if (error instanceof ApiError && error.status === 401) handleError(error, "import");
    else {
      const text = error instanceof ApiError && error.status === 413
        ? `That file is too large to upload (${humanSize(file.size)}).` : explain(error, "import data");
      problem([text]);
      announce(text);
    }
  } finally {
    button.disabled = false;
  }
}

// ---------- wiring ----------

function init() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (token) signIn(token);
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("export-form").addEventListener("submit", startExport);
  $("import-form").addEventListener("submit", startImport);
  $("template-form").addEventListener("submit", startFromTemplate);
  const reload = () => { state.page = 1; loadJobs(); };
  $("filters").addEventListener("change", reload);
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); reload(); });
  let typing = null;
  $("filter-id").addEventListener("input", () => {
    clearTimeout(typing);
    if ($("filter-id").checkValidity()) typing = setTimeout(reload, 400);
  });
  $("clear-filters").addEventListener("click", () => {
    $("filters").reset();
    reload();
    $("filter-id").focus();
  });
  for (const th of document.querySelectorAll("#jobs th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => sortBy(th.dataset.sort));
  }
  // Relative times, durations and time left move on without an answer from the service.
  setInterval(() => { for (const id of state.rows.keys()) paint(id); }, 15_000);
  $("refresh").addEventListener("click", () => loadJobs());
  $("prev-page").addEventListener("click", () => { state.page -= 1; loadJobs(); });
  $("next-page").addEventListener("click", () => { state.page += 1; loadJobs(); });
  if (sessionStorage.getItem(TOKEN_KEY)) enterApp();
  else showSignIn();
}

init();
