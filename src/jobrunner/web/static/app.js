// The jobs page: sign in, start an export, watch my jobs live, cancel, retry, download.
// Everything goes through the public API with jobrunner-client.js (demo sign-in aside).
import { ApiError, allowedActions, createClient, isFinal } from "/static/jobrunner-client.js";
import { announce, el, showAlert } from "/static/dom.js";

const TOKEN_KEY = "jobrunner.token";
const PAGE_SIZE = 20;
const REPORT_NAMES = { quotes: "Quotes", customers: "Customers", audit_log: "Audit log" };
const TYPE_NAMES = {
  export_report: "Export", data_processing: "Data processing", notification: "Notification",
  cleanup: "Cleanup", sync: "Sync",
};
const FIELD_NAMES = {
  "payload.reportType": "Report", "payload.format": "Format", "payload.filters.dateFrom": "From",
  "payload.filters.dateTo": "To", priority: "Priority", maxRetries: "Retries", scheduledAt: "Scheduled time",
};

const $ = (id) => document.getElementById(id);
const client = createClient({ getToken: () => sessionStorage.getItem(TOKEN_KEY) });

const state = {
  me: null,
  page: 1,
  watches: new Map(), // jobId -> AbortController, for the unfinished jobs on screen
  rows: new Map(), // jobId -> {job, flags, el}
};

// ---------- small helpers ----------

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

function jobTitle(job) {
  if (job.jobType === "export_report") {
    const report = REPORT_NAMES[job.payload?.reportType] || job.payload?.reportType || "Report";
    return `${report} export · ${String(job.payload?.format || "").toUpperCase()}`;
  }
  return TYPE_NAMES[job.jobType] || job.jobType;
}

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
  sessionStorage.removeItem(TOKEN_KEY);
  stopWatching();
  state.me = null;
  state.rows.clear();
  $("jobs").replaceChildren();
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
  $("console-link").hidden = !can("jobs.manage_jobs");
  announce(`Signed in as ${state.me.displayName || state.me.userId}`);
  state.page = 1;
  await loadJobs();
  $("main").focus({ preventScroll: true });
}

// ---------- the list ----------

function stopWatching() {
  for (const controller of state.watches.values()) controller.abort();
  state.watches.clear();
}

async function loadJobs() {
  stopWatching();
  const filters = new FormData($("filters"));
  $("jobs").setAttribute("aria-busy", "true");
  let page;
  try {
    page = await client.listJobs({
      page: state.page, pageSize: PAGE_SIZE, status: filters.get("status"), jobType: filters.get("jobType"),
    });
  } catch (error) {
    handleError(error, "see jobs");
    return;
  }
  state.rows.clear();
  $("jobs").replaceChildren(...page.jobs.map((job) => renderRow(job)));
  $("jobs-empty").hidden = page.jobs.length > 0;
  $("pager").hidden = page.totalPages <= 1;
  $("page-info").textContent = `Page ${page.page} of ${Math.max(page.totalPages, 1)} · ${page.total} jobs`;
  $("prev-page").disabled = page.page <= 1;
  $("next-page").disabled = page.page >= page.totalPages;
  $("jobs").setAttribute("aria-busy", "false");
  for (const job of page.jobs) if (!isFinal(job.status)) watch(job.id);
}

function watch(jobId) {
  state.watches.get(jobId)?.abort();
  const controller = new AbortController();
  state.watches.set(jobId, controller);
  client.watchJob(jobId, (status) => update(status), { signal: controller.signal })
    .catch((error) => {
      if (!controller.signal.aborted) handleError(error, "see this job");
    })
    .finally(() => {
      if (state.watches.get(jobId) === controller) state.watches.delete(jobId);
    });
}

function renderRow(job) {
  const id = job.id;
  const detailsId = `details-${id}`;
  const parts = {
    title: el("h3", { class: "job-title" }),
    badge: el("span", { class: "badge" }),
    meta: el("p", { class: "job-meta" }),
    fill: el("div", { class: "progress-fill" }),
    step: el("span", { class: "step" }),
    percent: el("span", { class: "percent" }),
    error: el("p", { class: "error-message" }),
    details: el("div", { class: "details", id: detailsId, hidden: true }),
  };
  parts.track = el("div", {
    class: "progress-track", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
  }, parts.fill);
  parts.progress = el("div", { class: "progress" }, parts.track,
    el("div", { class: "progress-text" }, parts.step, parts.percent));
  parts.toggle = el("button", {
    type: "button", class: "secondary", "aria-expanded": "false", "aria-controls": detailsId,
    onclick: () => toggleDetails(id),
  }, "Details");
  parts.cancel = el("button", { type: "button", class: "danger", onclick: () => act(id, "cancel") }, "Cancel");
  parts.retry = el("button", { type: "button", onclick: () => act(id, "retry") }, "Retry");
  parts.download = el("button", { type: "button", onclick: () => download(id) }, "Download");
  const li = el("li", { class: "job", id: `job-${id}`, "data-job-id": id },
    el("div", { class: "job-head" }, parts.title, parts.badge),
    parts.meta, parts.progress, parts.error,
    el("div", { class: "actions" }, parts.toggle, parts.cancel, parts.retry, parts.download),
    parts.details);
  state.rows.set(id, { job, flags: allowedActions(job), parts, el: li });
  paint(id);
  return li;
}

/** A status answer from watchJob or after an action: repaint the row, announce changes. */
function update(status) {
  const row = state.rows.get(status.job.id);
  if (!row) return;
  const before = row.job.status;
  row.job = status.job;
  row.flags = { canCancel: status.canCancel, canRetry: status.canRetry };
  paint(status.job.id);
  if (before !== status.job.status) {
    const tail = status.job.status === "failed" && status.job.errorMessage ? `: ${status.job.errorMessage}` : "";
    announce(`${jobTitle(status.job)} is now ${status.job.status}${tail}`);
  }
}

function stepText(job) {
  switch (job.status) {
    case "queued":
      return job.scheduledAt && new Date(job.scheduledAt) > new Date()
        ? `Scheduled for ${when(job.scheduledAt)}` : "Waiting to start";
    case "succeeded": return "Done";
    case "cancelled": return "Cancelled";
    case "failed": return job.currentStep ? `Stopped at step ${job.currentStep}${job.stepLabel ? ` (${job.stepLabel})` : ""}` : "Failed";
    default: {
      const of = job.totalSteps ? ` of ${job.totalSteps}` : "";
      const label = job.stepLabel ? `: ${job.stepLabel}` : "";
      return job.currentStep ? `Step ${job.currentStep}${of}${label}` : `Starting${label}`;
    }
  }
}

function paint(id) {
  const { job, flags, parts } = state.rows.get(id);
  const title = jobTitle(job);
  parts.title.textContent = title;
  parts.badge.textContent = job.status;
  parts.badge.className = `badge ${job.status}`;
  parts.meta.textContent = `Created ${when(job.createdAt)} · priority ${job.priority}` +
    (job.retryCount ? ` · retried ${job.retryCount} of ${job.maxRetries}` : "");
  parts.progress.className = `progress ${job.status}`;
  parts.fill.style.width = `${job.progress}%`;
  parts.track.setAttribute("aria-valuenow", String(job.progress));
  parts.track.setAttribute("aria-label", `Progress of ${title}`);
  parts.track.setAttribute("aria-valuetext", `${job.progress}%, ${stepText(job)}`);
  parts.step.textContent = stepText(job);
  parts.percent.textContent = `${job.progress}%`;
  parts.error.textContent = job.errorMessage || "";
  parts.error.hidden = !job.errorMessage;
  parts.cancel.hidden = !(flags.canCancel && can("jobs.cancel_jobs"));
  parts.retry.hidden = !(flags.canRetry && can("jobs.retry_jobs"));
  parts.download.hidden = !(job.status === "succeeded" && job.result && job.result.downloadUrl);
  parts.cancel.setAttribute("aria-label", `Cancel ${title}`);
  parts.retry.setAttribute("aria-label", `Retry ${title}`);
  parts.download.setAttribute("aria-label", `Download ${title}`);
  parts.toggle.setAttribute("aria-label", `Details of ${title}`);
  if (!parts.details.hidden) fillDetails(id);
}

function fillDetails(id) {
  const { job, parts } = state.rows.get(id);
  const rows = [
    ["Job id", job.id], ["Type", job.jobType], ["Status", job.status],
    ["Progress", `${job.progress}% (step ${job.currentStep}${job.totalSteps ? ` of ${job.totalSteps}` : ""})`],
    ["Retries", `${job.retryCount} of ${job.maxRetries}`], ["Priority", String(job.priority)],
    ["Error", job.errorMessage || "—"], ["Created", when(job.createdAt)], ["Scheduled", when(job.scheduledAt)],
    ["Started", when(job.startedAt)], ["Completed", when(job.completedAt)], ["Updated", when(job.updatedAt)],
  ];
  if (job.result && job.result.recordCount !== undefined) {
    rows.push(["Rows", String(job.result.recordCount)], ["File size", `${job.result.fileSize} bytes`]);
  }
  const dl = el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  parts.details.replaceChildren(dl, el("p", { class: "help" }, "Payload"),
    el("pre", {}, JSON.stringify(job.payload, null, 2)));
}

function toggleDetails(id) {
  const { parts } = state.rows.get(id);
  const open = parts.details.hidden;
  if (open) fillDetails(id);
  parts.details.hidden = !open;
  parts.toggle.setAttribute("aria-expanded", String(open));
}

async function refreshRow(id) {
  const answer = await client.getStatus(id);
  update(answer.status);
  return answer.status;
}

async function act(id, action) {
  const { parts, job } = state.rows.get(id);
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

function showFormErrors(messages) {
  const box = $("form-errors");
  box.replaceChildren(el("strong", {}, "The export was not started."),
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

// ---------- wiring ----------

function init() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (token) signIn(token);
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("export-form").addEventListener("submit", startExport);
  $("filters").addEventListener("change", () => { state.page = 1; loadJobs(); });
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("refresh").addEventListener("click", () => loadJobs());
  $("prev-page").addEventListener("click", () => { state.page -= 1; loadJobs(); });
  $("next-page").addEventListener("click", () => { state.page += 1; loadJobs(); });
  if (sessionStorage.getItem(TOKEN_KEY)) enterApp();
  else showSignIn();
}

init();
