// One job as a table row (a card on narrow screens, by CSS): built once by buildRow, filled
// in by paintRow on every status answer. Words from words.js; no requests here.
import { isFinal } from "/static/jobrunner-client.js";
import { el } from "/static/dom.js";
import {
  deliveryLabel, deliveryText, describe, exact, failureText, humanDuration, humanSize, originText, relative,
  runSeconds, secondsLeft, shortDay, waitReason,
} from "/static/words.js";

function when(iso) {
  return iso ? exact(iso) : "—";
}

function timeCell() {
  return el("time", {});
}

/**
 * The row of job `id` (and its details row): `parts` names every element paint fills in;
 * `on` has the click handlers toggle, cancel, retry, again, download (each given the id).
 */
export function buildRow(id, on) {
  const detailsId = `details-${id}`;
  const parts = {
    title: el("span", { class: "job-title" }),
    jobId: el("span", { class: "job-id" }),
    badge: el("span", { class: "badge" }),
    why: el("span", { class: "why" }),
    failure: el("span", { class: "error-message" }),
    fill: el("div", { class: "progress-fill" }),
    step: el("span", { class: "step" }),
    percent: el("span", { class: "percent" }),
    created: timeCell(),
    finished: timeCell(),
    duration: el("span", {}),
    details: el("div", { class: "details" }),
  };
  parts.track = el("div", {
    class: "progress-track", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
  }, parts.fill);
  parts.progress = el("div", { class: "progress" }, parts.track,
    el("div", { class: "progress-text" }, parts.step, parts.percent));
  parts.toggle = el("button", {
    type: "button", class: "secondary", "aria-expanded": "false", "aria-controls": detailsId,
    onclick: () => on.toggle(id),
  }, "Details");
  parts.cancel = el("button", { type: "button", class: "danger", onclick: () => on.cancel(id) }, "Cancel");
  parts.retry = el("button", { type: "button", onclick: () => on.retry(id) }, "Retry");
  parts.again = el("button", { type: "button", class: "secondary", onclick: () => on.again(id) }, "Run again");
  parts.download = el("button", { type: "button", onclick: () => on.download(id) }, "Download");
  parts.rejected = el("a", { class: "rejected", download: "" }, "Rejected rows");
  const cell = (label, ...children) => el("td", { "data-label": label }, ...children);
  parts.row = el("tr", { class: "job", id: `job-${id}`, "data-job-id": id },
    cell("Job", parts.title, " ", parts.jobId),
    cell("State", parts.badge, parts.why, parts.failure),
    cell("Progress", parts.progress),
    cell("Created", parts.created),
    cell("Finished", parts.finished),
    cell("Duration", parts.duration),
    el("td", { class: "actions-cell" },
      el("div", { class: "actions" }, parts.toggle, parts.cancel, parts.retry, parts.again, parts.download, parts.rejected)));
  parts.detailsRow = el("tr", { class: "details-row", id: detailsId, hidden: true },
    el("td", { colspan: "7" }, parts.details));
  return parts;
}


function stepText(job, activity) {
  switch (job.status) {
    case "queued":
    case "retrying":
      return "Not started yet"; // why: in the State column (waitReason)
    case "succeeded": return resultText(job) || "Done";
    // An error on a cancelled job: a job it depended on failed or was cancelled.
    case "cancelled": return job.errorMessage ? "Cancelled: a job it waited for did not succeed" : "Cancelled";
    case "failed": return job.currentStep ? `Stopped at step ${job.currentStep}${job.stepLabel ? ` (${job.stepLabel})` : ""}` : "Failed";
    default: {
      const of = job.totalSteps ? ` of ${job.totalSteps}` : "";
      const label = job.stepLabel ? `: ${job.stepLabel}` : "";
      const left = secondsLeft(job);
      const tail = left === null ? "" : ` · about ${humanDuration(left)} left`;
      return (job.currentStep ? `Step ${job.currentStep}${of}${label}` : `Starting${label}`) + tail;
    }
  }
}

function setTime(node, iso) {
  node.textContent = iso ? relative(iso) : "—";
  if (iso) {
    node.setAttribute("datetime", iso);
    node.title = exact(iso);
  } else {
    node.removeAttribute("datetime");
    node.removeAttribute("title");
  }
}

/** What a finished job made: rows, size, how long the file is kept; an import's counts. */
function resultText(job) {
  const result = job.status === "succeeded" ? job.result : null;
  if (!result) return "";
  if (job.jobType === "export_report") {
    const kept = result.expiresAt ? ` · kept until ${shortDay(result.expiresAt)}` : "";
    return `${result.recordCount.toLocaleString()} rows · ${humanSize(result.fileSize)}${kept}`;
  }
  if (job.jobType === "data_processing") {
    return `${result.inserted.toLocaleString()} inserted · ${result.updated.toLocaleString()} updated · ` +
      `${result.rejected.toLocaleString()} rejected`;
  }
  if (job.jobType === "notification") return `${result.delivered + result.alreadyDelivered} of ${result.recipientCount || 1} delivered`;
  return "";
}

/**
 * Fill the row in from `row` ({job, flags, parts, deliveries}); `view`: {can(permission),
 * activity, names} (names: see fillDetails).
 */
export function paintRow(row, view) {
  const { job, flags, parts } = row;
  const { can, activity } = view;
  const title = describe(job);
  parts.title.textContent = title;
  parts.jobId.textContent = job.id.slice(0, 8);
  parts.jobId.title = job.id;
  parts.badge.textContent = job.status;
  parts.badge.className = `badge ${job.status}`;
  const why = waitReason(job, activity);
  parts.why.textContent = why || "";
  parts.why.hidden = !why;
  parts.failure.textContent = job.status === "failed" ? failureText(job) : "";
  parts.failure.hidden = job.status !== "failed";
  parts.progress.className = `progress ${job.status}`;
  parts.fill.style.width = `${job.progress}%`;
  parts.track.setAttribute("aria-valuenow", String(job.progress));
  parts.track.setAttribute("aria-label", `Progress of ${title}`);
  parts.track.setAttribute("aria-valuetext", `${job.progress}%, ${why || stepText(job, activity)}`);
  parts.step.textContent = stepText(job, activity);
  parts.percent.textContent = `${job.progress}%`;
  setTime(parts.created, job.createdAt);
  setTime(parts.finished, job.completedAt);
  const seconds = runSeconds(job);
  parts.duration.textContent = seconds === null ? "—" : humanDuration(seconds);
  parts.cancel.hidden = !(flags.canCancel && can("jobs.cancel_jobs"));
  parts.retry.hidden = !(flags.canRetry && can("jobs.retry_jobs"));
  parts.again.hidden = !(isFinal(job.status) && canRunAgain(job, can));
  parts.download.hidden = !(job.status === "succeeded" && job.result && job.result.downloadUrl);
  const rejectedUrl = job.status === "succeeded" && job.result && job.result.rejectedRowsUrl;
  parts.rejected.hidden = !rejectedUrl;
  if (rejectedUrl) parts.rejected.href = rejectedUrl;
  for (const [name, verb] of [["cancel", "Cancel"], ["retry", "Retry"], ["again", "Run again"], ["download", "Download"], ["toggle", "Details of"]]) {
    parts[name].setAttribute("aria-label", `${verb} ${title}`);
  }
  parts.rejected.setAttribute("aria-label", `Rejected rows of ${title}`);
  if (!parts.detailsRow.hidden) fillDetails(row, view);
}

function canRunAgain(job, can) {
  if (!can("jobs.create_jobs") || !job.payload) return false;
  if (job.jobType === "export_report") {
    return can("reports.export_reports") && (job.payload.reportType !== "audit_log" || can("reports.export_audit_log"));
  }
  if (job.jobType === "data_processing") return can("data.process_data");
  return true;
}

/**
 * The details row: where the job came from, every timestamp, the technical detail, the
 * result, its completion webhooks, the parameters. `deliveries`: the status answer's
 * webhookDeliveries (undefined while being read, null when they could not be read);
 * `view.names`: {templates, schedules}, Maps by id, for originText.
 */
export function fillDetails({ job, parts, deliveries }, view = {}) {
  const origin = originText(job, view.names);
  const rows = [
    ["Job id", job.id], ["Type", job.jobType], ["Status", job.status],
    ...(origin ? [["Origin", origin]] : []),
    ["Progress", `${job.progress}% (step ${job.currentStep}${job.totalSteps ? ` of ${job.totalSteps}` : ""})`],
    ["Retries", `${job.retryCount} of ${job.maxRetries}`], ["Priority", String(job.priority)],
    ["Created", when(job.createdAt)], ["Scheduled", when(job.scheduledAt)],
    ["Started", when(job.startedAt)], ["Finished", when(job.completedAt)], ["Updated", when(job.updatedAt)],
  ];
  if (job.dependsOn && job.dependsOn.length) {
    rows.push(["Depends on", job.dependsOn.map((d) => `${d.as} (${d.jobId.slice(0, 8)})`).join(", ")]);
  }
  if (job.errorMessage) rows.push(["Technical detail", job.errorMessage]);
  if (job.result && job.result.fileSize !== undefined) {
    rows.push(["Rows", job.result.recordCount.toLocaleString()], ["File size", `${humanSize(job.result.fileSize)} (${job.result.fileSize.toLocaleString()} bytes)`]);
    if (job.result.expiresAt) rows.push(["File kept until", when(job.result.expiresAt)]);
  }
  if (job.result && job.result.inserted !== undefined) {
    rows.push(["Rows read", job.result.recordCount.toLocaleString()], ["Inserted", String(job.result.inserted)],
      ["Updated", String(job.result.updated)], ["Rejected", String(job.result.rejected)]);
  }
  rows.push(...webhookRows(job, deliveries));
  const dl = el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  parts.details.replaceChildren(dl, el("p", { class: "help" }, "Parameters"),
    el("pre", {}, JSON.stringify(job.payload, null, 2)));
}

/** The completion webhooks of a job with a callback URL, in words (docs/webhooks.md). */
function webhookRows(job, deliveries) {
  if (!job.callbackUrl) return [];
  const rows = [["Callback URL", job.callbackUrl]];
  if (deliveries === undefined) rows.push(["Webhooks", "Reading…"]);
  else if (deliveries === null) rows.push(["Webhooks", "Could not be read just now"]);
  else if (!deliveries.length) rows.push(["Webhooks", isFinal(job.status) ? "None yet" : "Sent when the job finishes"]);
  else for (const delivery of deliveries) rows.push([deliveryLabel(delivery), deliveryText(delivery)]);
  return rows;
}
