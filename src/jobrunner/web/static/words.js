// What a job is and how it is doing, in a person's words: the jobs page's text (no DOM).

const REPORT_NAMES = { quotes: "Quotes", customers: "Customers", audit_log: "Audit log" };
const FORMAT_NAMES = { csv: "CSV", json: "JSON", xlsx: "Excel" };
const DATASET_NAMES = { customers: "Customers", quotes: "Quotes" };
const TYPE_NAMES = {
  export_report: "Export", data_processing: "Import", notification: "Notification",
  cleanup: "Cleanup", sync: "Sync",
};
const UPLOAD_NAMES_KEY = "jobrunner.uploadNames";

/** "1 Mar 2024", from a YYYY-MM-DD date (read as a calendar day, not a UTC instant). */
function day(text) {
  const [y, m, d] = String(text).slice(0, 10).split("-").map(Number);
  if (!y || !m || !d) return String(text);
  return new Date(y, m - 1, d).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

/** The file names of the uploads this browser started (an import's payload has only the id). */
export function rememberUploadName(uploadId, filename) {
  const names = JSON.parse(localStorage.getItem(UPLOAD_NAMES_KEY) || "{}");
  names[uploadId] = filename;
  const ids = Object.keys(names);
  for (const old of ids.slice(0, Math.max(0, ids.length - 200))) delete names[old];
  localStorage.setItem(UPLOAD_NAMES_KEY, JSON.stringify(names));
}

function uploadName(uploadId) {
  try {
    return JSON.parse(localStorage.getItem(UPLOAD_NAMES_KEY) || "{}")[uploadId] || null;
  } catch {
    return null;
  }
}

/** What the job is: "Quotes export · CSV · 1 Jan 2024 – 31 Dec 2024". */
export function describe(job) {
  const p = job.payload || {};
  switch (job.jobType) {
    case "export_report": {
      const report = REPORT_NAMES[p.reportType] || p.reportType || "Report";
      const parts = [`${report} export`, FORMAT_NAMES[p.format] || String(p.format || "").toUpperCase()];
      const { dateFrom, dateTo } = p.filters || {};
      if (dateFrom || dateTo) {
        parts.push(dateFrom && dateTo ? `${day(dateFrom)} – ${day(dateTo)}`
          : dateFrom ? `from ${day(dateFrom)}` : `until ${day(dateTo)}`);
      } else {
        parts.push("all dates");
      }
      return parts.join(" · ");
    }
    case "data_processing": {
      // The finished import names its file; before that, this browser may remember it.
      const name = (job.result && job.result.fileName) || uploadName(p.uploadId);
      const what = `${DATASET_NAMES[p.dataset] || p.dataset || "Data"} import`;
      return [what, name || "uploaded CSV", p.mode === "upsert" ? "update existing" : null].filter(Boolean).join(" · ");
    }
    case "notification": {
      const subject = p.data && typeof p.data.subject === "string" ? `“${p.data.subject}”` : null;
      const channel = p.channel === "webhook" ? "Webhook" : "Email";
      const to = p.channel === "email" && p.recipients ? `to ${p.recipients.length} ${p.recipients.length === 1 ? "person" : "people"}` : null;
      return [`${channel} notification`, subject || `template ${p.template}`, to].filter(Boolean).join(" · ");
    }
    case "cleanup":
      return `Cleanup of ${p.target === "all" ? "old files and jobs" : p.target} older than ${p.olderThanDays} days`;
    case "sync":
      return `Sync of ${DATASET_NAMES[p.dataset] || p.dataset} to ${p.integration}`;
    default:
      return TYPE_NAMES[job.jobType] || job.jobType;
  }
}

export function typeName(jobType) {
  return TYPE_NAMES[jobType] || jobType;
}

/** 1234567 -> "1.2 MB". */
export function humanSize(bytes) {
  if (!Number.isFinite(bytes)) return "—";
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = -1;
  do { value /= 1000; unit += 1; } while (value >= 1000 && unit < units.length - 1);
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** 75 -> "1 min 15 s". */
export function humanDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "3 minutes ago", "in 2 hours". */
export function relative(iso, now = Date.now()) {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const abs = Math.abs(seconds);
  if (abs < 45) return seconds < 0 ? "just now" : "in a moment";
  for (const [unit, size] of [["minute", 60], ["hour", 3600], ["day", 86400], ["month", 2592000], ["year", 31536000]]) {
    const next = { minute: 3600, hour: 86400, day: 2592000, month: 31536000, year: Infinity }[unit];
    if (abs < next) return RELATIVE.format(Math.round(seconds / size), unit);
  }
  return RELATIVE.format(Math.round(seconds / 31536000), "year");
}

export function exact(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** "10:00", or "3 Mar, 10:00" when not today. */
export function clock(iso) {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleString(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/** "Dec 8" (the year too when not this year). */
export function shortDay(iso) {
  const date = new Date(iso);
  const options = { day: "numeric", month: "short" };
  if (date.getFullYear() !== new Date().getFullYear()) options.year = "numeric";
  return date.toLocaleDateString(undefined, options);
}

/** Seconds the job ran (or has been running), or null. */
export function runSeconds(job, now = Date.now()) {
  if (!job.startedAt) return null;
  const end = job.completedAt ? new Date(job.completedAt).getTime() : (job.status === "running" ? now : null);
  return end === null ? null : (end - new Date(job.startedAt).getTime()) / 1000;
}

/** Seconds left, from the progress so far (shown only once the estimate means something). */
export function secondsLeft(job, now = Date.now()) {
  if (job.status !== "running" || !job.startedAt || job.progress < 5 || job.progress >= 100) return null;
  const elapsed = (now - new Date(job.startedAt).getTime()) / 1000;
  return elapsed < 2 ? null : (elapsed * (100 - job.progress)) / job.progress;
}

/**
 * Why the job waits, or null: "Waiting for 2 jobs" (its dependencies), "Scheduled for 10:00",
 * "Paused: receiver failing; trying again at 10:01", "5 of 5 running in your organization".
 * `activity` is GET /v1/me/activity's answer (or null when unknown).
 */
export function waitReason(job, activity, now = Date.now()) {
  if (job.status !== "queued" && job.status !== "retrying") return null;
  const later = job.scheduledAt && new Date(job.scheduledAt).getTime() > now;
  if (job.status === "retrying") {
    return `Trying again${later ? ` at ${clock(job.scheduledAt)}` : " soon"} (attempt ${job.retryCount + 1} of ${job.maxRetries + 1})`;
  }
  if (job.blockedBy > 0) return `Waiting for ${job.blockedBy} ${job.blockedBy === 1 ? "job" : "jobs"}`;
  if (later) return `Scheduled for ${clock(job.scheduledAt)}`;
  // Its type's circuit breaker holds it back (docs/flow-control.md).
  const paused = activity?.pausedJobTypes?.find((p) => p.jobType === job.jobType);
  if (paused) {
    const upper = paused.reason.charAt(0).toUpperCase() + paused.reason.slice(1);
    return paused.state === "open" && paused.retryAt ? `${upper}; trying again at ${clock(paused.retryAt)}` : upper;
  }
  if (activity && activity.organizationRunning >= activity.organizationLimit) {
    return `Waiting: ${activity.organizationRunning} of ${activity.organizationLimit} running in your organization`;
  }
  return "Waiting for a free worker";
}

/** A failure told to a person; the stored error message is the technical detail. */
export function failureText(job) {
  const detail = job.errorMessage || "";
  const retried = job.retryCount ? ` after ${job.retryCount + 1} attempts` : "";
  switch (job.jobType) {
    case "export_report":
      if (/payload|report type|reportType/i.test(detail)) return `The export could not start: its settings were not accepted${retried}.`;
      return `The export could not be made${retried}.`;
    case "data_processing":
      return `The import could not be finished${retried}. Rows already written stay.`;
    case "notification":
      return `The notification could not be delivered${retried}.`;
    default:
      return `${typeName(job.jobType)} did not finish${retried}.`;
  }
}

// ---------- where a job came from, and its completion webhooks (details) ----------

/**
 * "From schedule 0 6 * * 1 (Europe/Paris)", "From template Quarterly quotes", or null for a
 * job started directly. `names`: {templates, schedules}, Maps by id of what the page could
 * read (a template deleted since, or a schedule the user may not read, shows its short id).
 */
export function originText(job, names = {}) {
  if (job.scheduleId) {
    const schedule = names.schedules && names.schedules.get(job.scheduleId);
    return schedule ? `From schedule ${schedule.cron} (${schedule.timezone})` : `From schedule ${job.scheduleId.slice(0, 8)}`;
  }
  if (job.templateId) {
    const name = names.templates && names.templates.get(job.templateId);
    return name ? `From template ${name}` : `From template ${job.templateId.slice(0, 8)}`;
  }
  return null;
}

const HTTP_PHRASES = {
  200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently", 302: "Found",
  307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
  404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
  413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content", 429: "Too Many Requests",
  500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
  504: "Gateway Timeout",
};
const ATTEMPT_ERRORS = {
  no_answer: "no answer",
  destination_not_allowed: "its address is not allowed",
  invalid_url: "the URL cannot be used",
};
const DELIVERY_STATES = { pending: "Pending", delivered: "Delivered", failed: "Failed" };
const DELIVERY_TYPES = { "job.succeeded": "succeeded", "job.failed": "failed", "job.cancelled": "was cancelled" };

/** "Webhook when it succeeded": the label of one delivery in the details. */
export function deliveryLabel(delivery) {
  return `Webhook when it ${DELIVERY_TYPES[delivery.type] || delivery.type}`;
}

/**
 * One completion webhook in words: "Delivered · 2 attempts · last answer: 200 OK",
 * "Pending · 1 attempt · last answer: 503 Service Unavailable · next attempt at 10:31",
 * "Failed · 1 attempt · its address is not allowed". Only what jobrunner recorded: the
 * state, the attempts and the last status code (never anything the receiver sent).
 */
export function deliveryText(delivery) {
  const parts = [DELIVERY_STATES[delivery.state] || delivery.state];
  const count = delivery.attempts.length;
  parts.push(count ? `${count} ${count === 1 ? "attempt" : "attempts"}` : "no attempt yet");
  const last = delivery.attempts[count - 1];
  if (last && last.statusCode !== null) {
    const phrase = HTTP_PHRASES[last.statusCode];
    parts.push(`last answer: ${last.statusCode}${phrase ? ` ${phrase}` : ""}`);
  } else if (last) {
    parts.push(ATTEMPT_ERRORS[last.error] || "no answer");
  }
  if (delivery.state === "pending" && delivery.nextAttemptAt) parts.push(`next attempt at ${clock(delivery.nextAttemptAt)}`);
  return parts.join(" · ");
}
