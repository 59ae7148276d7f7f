// jobrunner-client.js: a dependency-free client for the jobrunner HTTP API (ES module).
//
//   import { createClient } from "/static/jobrunner-client.js";
//   const jobs = createClient({ baseUrl: "", getToken: () => sessionStorage.getItem("token") });
//   const { jobId } = await jobs.createJob({ jobType: "export_report", payload: {...} });
//   const final = await jobs.watchJob(jobId, (status) => render(status), { signal });
//
// Polling rules of watchJob (see docs/frontend.md):
//   - waits the number of seconds the server sends in Retry-After (2 right after creation,
//     10 queued, 5 running or retrying); without one, 5 seconds;
//   - sends the last ETag in If-None-Match; a 304 means "unchanged", onUpdate is not called;
//   - stops, resolving with the last status, once the job is succeeded, failed or cancelled;
//   - on network errors and 5xx/429 backs off exponentially (2, 4, 8 ... 60 s, with jitter);
//     401/403/404 stop it (rejecting with an ApiError): polling again cannot help;
//   - polls nothing while the document is hidden, and polls at once when it shows again;
//   - stops when `signal` aborts (resolving with the last status seen, or null).

export const FINAL_STATES = Object.freeze(["succeeded", "failed", "cancelled"]);
export const CANCELLABLE_STATES = Object.freeze(["queued", "running", "retrying"]);
export const RETRYABLE_STATES = Object.freeze(["failed"]);
// The three sets equal domain/states.py's (tests/unit/test_state_sets.py checks them).

export function isFinal(status) {
  return FINAL_STATES.includes(status);
}

/** What the status endpoint would say for canCancel/canRetry, from a job of a list. */
export function allowedActions(job) {
  return {
    canCancel: CANCELLABLE_STATES.includes(job.status),
    canRetry: RETRYABLE_STATES.includes(job.status) && job.retryCount < job.maxRetries,
  };
}

/** An answer that was not 2xx/304: the problem details (RFC 9457) of the API. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem || null;
    this.errors = (problem && problem.errors) || [];
  }
}

const DEFAULT_POLL_SECONDS = 5;
const BACKOFF_BASE_SECONDS = 2;
const BACKOFF_CAP_SECONDS = 60;
const FATAL_STATUSES = [401, 403, 404];

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal && signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", done);
      resolve();
    }
    if (signal) signal.addEventListener("abort", done, { once: true });
  });
}

function whenVisible(doc, signal) {
  return new Promise((resolve) => {
    if (!doc || !doc.hidden || (signal && signal.aborted)) return resolve();
    function done() {
      if (doc.hidden && !(signal && signal.aborted)) return;
      doc.removeEventListener("visibilitychange", done);
      if (signal) signal.removeEventListener("abort", done);
      resolve();
    }
    doc.addEventListener("visibilitychange", done);
    if (signal) signal.addEventListener("abort", done, { once: true });
  });
}

function retryAfterSeconds(response) {
  const value = response.headers.get("Retry-After");
  if (value === null) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/**
 * A client for one jobrunner service.
 * @param {object} options
 * @param {string} [options.baseUrl] where the service answers ("" = same origin)
 * @param {() => (string|null|Promise<string|null>)} [options.getToken] the bearer token
 * @param {typeof fetch} [options.fetch] a fetch implementation (default: the global one)
 * @param {Document} [options.document] whose visibility pauses polling (default: the global one)
 */
export function createClient({ baseUrl = "", getToken = () => null, fetch: fetchImpl, document: doc } = {}) {
  const doFetch = fetchImpl || ((...args) => globalThis.fetch(...args));
  const visibility = doc === undefined ? globalThis.document : doc;
  const root = baseUrl.replace(/\/+$/, "");

  async function send(method, path, { body, headers = {}, signal } = {}) {
    const token = await getToken();
    const all = { Accept: "application/json", ...headers };
    if (token) all.Authorization = `Bearer ${token}`;
    if (body !== undefined) all["Content-Type"] = "application/json";
    // no-store: the API's own ETag handling is used, never the browser cache's.
    const response = await doFetch(root + path, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
    if (response.status === 304) return { response, data: null };
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { detail: text.slice(0, 200) };
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return { response, data };
  }

  const jobPath = (jobId, action) => `/v1/jobs/${encodeURIComponent(jobId)}/${action}`;

  /**
   * POST /v1/jobs: a jobType and its payload, or a templateId (a job template of the
   * organization; payload, if given, is merged over the template's). With idempotencyKey
   * (e.g. crypto.randomUUID(), kept while retrying) a repeated call creates no second job.
   * Resolves with {jobId, message, location, replayed}; replayed: the answer is the stored
   * one of an earlier call with the same key.
   */
  async function createJob(
    { jobType, templateId, payload, priority, maxRetries, scheduledAt, idempotencyKey },
    { signal } = {},
  ) {
    const body = templateId !== undefined ? { templateId } : { jobType, payload };
    if (templateId !== undefined && payload !== undefined) body.payload = payload;
    if (priority !== undefined) body.priority = priority;
    if (maxRetries !== undefined) body.maxRetries = maxRetries;
    if (scheduledAt !== undefined) body.scheduledAt = scheduledAt;
    const headers = idempotencyKey !== undefined ? { "Idempotency-Key": idempotencyKey } : {};
    const { response, data } = await send("POST", "/v1/jobs", { body, headers, signal });
    return {
      ...data,
      location: response.headers.get("Location"),
      replayed: response.headers.get("Idempotent-Replayed") === "true",
    };
  }

  /** GET /v1/job-templates: {templates, total, page, pageSize, totalPages}, by name. */
  async function listTemplates({ page, pageSize } = {}, { signal } = {}) {
    const query = new URLSearchParams();
    if (page !== undefined) query.set("page", String(page));
    if (pageSize !== undefined) query.set("pageSize", String(pageSize));
    const suffix = query.toString() ? `?${query}` : "";
    return (await send("GET", `/v1/job-templates${suffix}`, { signal })).data;
  }

  /**
   * GET /v1/jobs/{id}/status. With `etag`, sends If-None-Match; an unchanged job resolves
   * with {notModified: true, status: null}. Always gives the ETag and Retry-After seconds.
   */
  async function getStatus(jobId, { etag, signal } = {}) {
    const headers = etag ? { "If-None-Match": etag } : {};
    const { response, data } = await send("GET", jobPath(jobId, "status"), { headers, signal });
    return {
      notModified: response.status === 304,
      status: data,
      etag: response.headers.get("ETag") || etag || null,
      retryAfter: retryAfterSeconds(response),
    };
  }

  /**
   * GET /v1/jobs. Resolves with {jobs, total, page, pageSize, totalPages}. `idPrefix`: only
   * jobs whose id starts with it.
   */
  async function listJobs({ page, pageSize, status, jobType, idPrefix } = {}, { signal } = {}) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries({ page, pageSize, status, jobType, idPrefix })) {
      if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
    }
    const suffix = query.toString() ? `?${query}` : "";
    return (await send("GET", `/v1/jobs${suffix}`, { signal })).data;
  }

  async function cancelJob(jobId, { signal } = {}) {
    return (await send("POST", jobPath(jobId, "cancel"), { signal })).data;
  }

  async function retryJob(jobId, { signal } = {}) {
    return (await send("POST", jobPath(jobId, "retry"), { signal })).data;
  }

  /** GET /v1/me: {userId, organizationId, displayName, permissions}. */
  async function me({ signal } = {}) {
    return (await send("GET", "/v1/me", { signal })).data;
  }

  /**
   * Polls a job until it is final (see the rules at the top of this file). Calls
   * onUpdate(status) with each changed status answer; resolves with the last one.
   * Options: signal (AbortSignal), onError(error, delaySeconds) for transient failures.
   */
  async function watchJob(jobId, onUpdate, { signal, onError } = {}) {
    let etag = null;
    let last = null;
    let failures = 0;
    while (!(signal && signal.aborted)) {
      await whenVisible(visibility, signal);
      if (signal && signal.aborted) break;
      let answer = null;
      try {
        answer = await getStatus(jobId, { etag, signal });
      } catch (error) {
        if (signal && signal.aborted) break;
        if (error instanceof ApiError && FATAL_STATUSES.includes(error.status)) throw error;
        failures += 1;
        const ceiling = Math.min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (failures - 1));
        const delaySeconds = ceiling / 2 + Math.random() * (ceiling / 2);
        if (onError) onError(error, delaySeconds);
        await sleep(delaySeconds * 1000, signal);
        continue;
      }
      failures = 0;
      etag = answer.etag;
      if (!answer.notModified) {
        last = answer.status;
        if (onUpdate) onUpdate(last); // an exception here is the caller's: it rejects
      }
      if (last && isFinal(last.job.status)) return last;
      await sleep((answer.retryAfter ?? DEFAULT_POLL_SECONDS) * 1000, signal);
    }
    return last;
  }

  return { createJob, listTemplates, getStatus, listJobs, cancelJob, retryJob, me, watchJob, send };
}
