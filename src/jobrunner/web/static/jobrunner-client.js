// jobrunner-client.js: a dependency-free client for the jobrunner HTTP API (ES module).
//
//   import { createClient } from "/static/jobrunner-client.js";
//   const jobs = createClient({ baseUrl: "", getToken: () => sessionStorage.getItem("token") });
//   const { jobId } = await jobs.createJob({ jobType: "export_report", payload: {...} });
//   await jobs.createJob({ jobType, payload, callbackUrl: "https://backend.example.com/hooks/jobs" });
//   const final = await jobs.watchJob(jobId, (status) => render(status), { signal });
//   jobs.watchJobs((status) => render(status), { signal, onOpen, onResync });  // all my jobs
//
// Push first (docs/push.md): watchJob reads GET /v1/jobs/{id}/events, a server-sent event
// stream, with fetch() (so the bearer token travels in the Authorization header, never in a
// URL; EventSource cannot send headers). Each event is the status endpoint's answer. It
// resumes with Last-Event-ID after a dropped connection, a token expiry (getToken is asked
// again) or the server's end of a long stream, and resolves when the job is final. When the
// service cannot stream (503, no streaming fetch, three failed connections in a row) it
// falls back to polling, with these rules. `createClient({ push: false })`: polling only.
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
// Push: a stream silent this long (no event, no heartbeat) is presumed dead and reopened.
const STREAM_SILENCE_MS = 45_000;
// Connections that fail in a row before a watch falls back to polling.
const STREAM_ATTEMPTS = 3;

/** The service cannot stream now (watchJobs rejects with it): poll instead. */
export class PushUnavailable extends Error {
  constructor(cause) {
    super("event streams are unavailable");
    this.name = "PushUnavailable";
    this.cause = cause;
  }
}

function backoffSeconds(failures) {
  const ceiling = Math.min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (failures - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * The events of a text/event-stream body: {event, data, id} objects; comments (heartbeats)
 * as {comment}. Ends when the body ends.
 */
export async function* readEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let current = { event: "message", data: [], id: null };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end).replace(/\r$/, "");
        buffer = buffer.slice(end + 1);
        if (line === "") {
          if (current.data.length || current.id !== null) {
            yield { event: current.event, data: current.data.join("\n"), id: current.id };
          }
          current = { event: "message", data: [], id: null };
        } else if (line.startsWith(":")) {
          yield { comment: line.slice(1).trim() };
        } else {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") current.event = text;
          else if (field === "data") current.data.push(text);
          else if (field === "id") current.id = text;
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

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
 * @param {boolean} [options.push] use server-sent events when the service offers them (default true)
 */
export function createClient({ baseUrl = "", getToken = () => null, fetch: fetchImpl, document: doc, push = true } = {}) {
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
   * callbackUrl: where each final state of the job is POSTed, signed (docs/webhooks.md);
   * without it, the organization's default callback URL, if any (a job from a template
   * always takes that default: callbackUrl with templateId is a 422).
   * Resolves with {jobId, message, location, replayed}; replayed: the answer is the stored
   * one of an earlier call with the same key.
   */
  async function createJob(
    { jobType, templateId, payload, priority, maxRetries, scheduledAt, callbackUrl, idempotencyKey },
    { signal } = {},
  ) {
    const body = templateId !== undefined ? { templateId } : { jobType, payload };
    if (templateId !== undefined && payload !== undefined) body.payload = payload;
    if (priority !== undefined) body.priority = priority;
    if (maxRetries !== undefined) body.maxRetries = maxRetries;
    if (scheduledAt !== undefined) body.scheduledAt = scheduledAt;
    if (callbackUrl !== undefined) body.callbackUrl = callbackUrl;
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

  const streaming = () => push && typeof ReadableStream !== "undefined" && typeof TextDecoder !== "undefined";

  /**
   * One connection to an event stream: calls onEvent for each event until the stream
   * ends; resolves with the `end` event's reason ("dropped" when the connection closed or
   * fell silent without one, "seen" on a 204: nothing more will come).
   */
  async function followStream(path, onEvent, { lastEventId, signal, onOpen } = {}) {
    const token = await getToken();
    const headers = { Accept: "text/event-stream" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    const local = new AbortController();
    const abort = () => local.abort();
    if (signal) signal.addEventListener("abort", abort, { once: true });
    let silence = null;
    const awake = () => {
      clearTimeout(silence);
      silence = setTimeout(abort, STREAM_SILENCE_MS);
    };
    try {
      awake();
      const response = await doFetch(root + path, { method: "GET", headers, signal: local.signal, cache: "no-store" });
      if (response.status === 204) return "seen";
      if (!response.ok) {
        const text = await response.text();
        let problem = null;
        try {
          problem = text ? JSON.parse(text) : null;
        } catch {
          problem = { detail: text.slice(0, 200) };
        }
        throw new ApiError(response.status, problem);
      }
      if (!(response.headers.get("Content-Type") || "").startsWith("text/event-stream") || !response.body) {
        throw new PushUnavailable(new Error("not an event stream"));
      }
      if (onOpen) onOpen();
      for await (const event of readEvents(response.body)) {
        awake();
        if (event.event === "end") return JSON.parse(event.data).reason;
        if (event.event === "job") onEvent(JSON.parse(event.data), event.id);
      }
      return "dropped";
    } catch (error) {
      if (local.signal.aborted && !(signal && signal.aborted)) return "dropped"; // fell silent
      throw error;
    } finally {
      clearTimeout(silence);
      if (signal) signal.removeEventListener("abort", abort);
    }
  }

  /**
   * Follows a stream across reconnects (Last-Event-ID) until `until(reason)` says so.
   * Rejects with ApiError on 401/403/404, with PushUnavailable when streaming fails
   * (503, STREAM_ATTEMPTS failed connections in a row). Resolves with the last reason.
   */
  async function keepFollowing(path, onEvent, { signal, onError, onOpen, onResync, until }) {
    let lastEventId = null;
    let failures = 0;
    while (!(signal && signal.aborted)) {
      let reason;
      try {
        reason = await followStream(
          path,
          (data, id) => {
            if (id) lastEventId = id;
            failures = 0;
            onEvent(data);
          },
          { lastEventId, signal, onOpen },
        );
      } catch (error) {
        if (signal && signal.aborted) break;
        if (error instanceof ApiError && FATAL_STATUSES.includes(error.status)) throw error;
        if (error instanceof PushUnavailable) throw error;
        if (error instanceof ApiError && error.status === 503) throw new PushUnavailable(error);
        reason = "failed";
        if (onError) onError(error, 0);
      }
      if (until(reason)) return reason;
      if (reason === "resync") {
        lastEventId = null;
        if (onResync) onResync();
      }
      if (reason === "shutdown") await sleep(2000, signal); // that server is going away
      if (reason === "failed" || reason === "dropped") {
        failures += 1;
        if (failures >= STREAM_ATTEMPTS) throw new PushUnavailable(new Error(`${failures} failed connections`));
        await sleep(backoffSeconds(failures) * 1000, signal);
      }
    }
    return "aborted";
  }

  /**
   * Follows a job until it is final: pushed events when the service streams them, else
   * polling (see the rules at the top of this file). Calls onUpdate(status) with each
   * changed status answer; resolves with the last one.
   * Options: signal (AbortSignal), onError(error, delaySeconds) for transient failures,
   * push: false to poll (e.g. many jobs at once: a browser opens at most six connections
   * to one origin; watchJobs follows them all on one).
   */
  async function watchJob(jobId, onUpdate, { signal, onError, push: pushThis = true } = {}) {
    let last = null;
    if (pushThis && streaming()) {
      const seen = (status) => {
        last = status;
        if (onUpdate) onUpdate(status);
      };
      try {
        const reason = await keepFollowing(jobPath(jobId, "events"), seen, {
          signal,
          onError,
          until: (why) => why === "final" || why === "seen",
        });
        if (reason !== "seen" || last) return last;
      } catch (error) {
        if (!(error instanceof PushUnavailable)) throw error;
      }
      if (signal && signal.aborted) return last;
    }
    return pollJob(jobId, onUpdate, { signal, onError, last });
  }

  /**
   * Follows every job of the caller (filters `status`, `jobType` as listJobs) until
   * `signal` aborts: onUpdate(status) for each change (the stream starts with the
   * unfinished jobs). onOpen() each time a stream is open; onResync() when changes may
   * have been missed (re-read the list). Rejects with ApiError on 401/403, with
   * PushUnavailable when the service cannot stream (then poll each job with watchJob).
   */
  async function watchJobs(onUpdate, { signal, status, jobType, onOpen, onResync, onError } = {}) {
    if (!streaming()) throw new PushUnavailable(new Error("streaming is off or unsupported"));
    const query = new URLSearchParams();
    if (status) query.set("status", status);
    if (jobType) query.set("jobType", jobType);
    const suffix = query.toString() ? `?${query}` : "";
    await keepFollowing(`/v1/jobs/events${suffix}`, onUpdate, { signal, onError, onOpen, onResync, until: () => false });
  }

  /** The polling loop of watchJob. */
  async function pollJob(jobId, onUpdate, { signal, onError, last: known = null } = {}) {
    let etag = null;
    let last = known;
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
        const delaySeconds = backoffSeconds(failures);
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

  return { createJob, listTemplates, getStatus, listJobs, cancelJob, retryJob, me, watchJob, watchJobs, send };
}
