// The jobs page's "Schedules" section: the organization's recurring schedules and their
// next run, read-only (GET /v1/schedules; shown to holders of schedules.manage_schedules).
// Creating and changing schedules: the API or `jobrunner schedules` (docs/workflows.md).
import { el } from "/static/dom.js";
import { describe, exact, relative } from "/static/words.js";

const PAGE_SIZE = 100;

function moment(iso) {
  return el("time", { datetime: iso, title: exact(iso) }, relative(iso));
}

function row(schedule) {
  const next = schedule.paused ? "Paused" : moment(schedule.nextRunAt);
  const last = schedule.lastError
    ? el("span", { class: "schedule-error" }, `Skipped: ${schedule.lastError}`)
    : schedule.lastRunAt ? moment(schedule.lastRunAt) : "Never";
  return el("tr", { "data-schedule": schedule.id },
    el("td", { "data-label": "Job" }, describe(schedule)),
    el("td", { "data-label": "When" }, el("code", {}, schedule.cron), ` (${schedule.timezone})`),
    el("td", { "data-label": "Next run" }, next),
    el("td", { "data-label": "Last run" }, last));
}

/** Fill the section from the API; `client` is the page's jobrunner-client. Resolves with the schedules. */
export async function loadSchedules(client) {
  const { data } = await client.send("GET", `/v1/schedules?pageSize=${PAGE_SIZE}`);
  const rows = document.getElementById("schedule-rows");
  rows.replaceChildren(...data.schedules.map(row));
  document.getElementById("schedules-empty").hidden = data.schedules.length > 0;
  document.getElementById("schedules-table").hidden = data.schedules.length === 0;
  return data.schedules;
}
