// The product document's flows through a TypeScript client generated from the OpenAPI
// document (openapi-typescript types + openapi-fetch), type-checked with `tsc --strict`
// and run with node against a live service by tests/contract/test_typescript_client.py.
// JOBRUNNER_URL and JOBRUNNER_TOKEN say where and as whom. Nothing here is hand-typed:
// every request and answer type comes from the generated `api.d.ts`.
import createClient from "openapi-fetch";
import type { components, paths } from "./api.js";

type Job = components["schemas"]["JobOut"];
type Status = components["schemas"]["JobStatus"];

const baseUrl = process.env.JOBRUNNER_URL ?? "";
const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${process.env.JOBRUNNER_TOKEN}` } });
const anonymous = createClient<paths>({ baseUrl });

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function poll(jobId: string, until: Status[]): Promise<components["schemas"]["JobStatusResponse"]> {
  for (let attempt = 0; attempt < 150; attempt++) {
    const { data } = await client.GET("/v1/jobs/{job_id}/status", { params: { path: { job_id: jobId } } });
    check(data !== undefined, "no status");
    if (until.includes(data.job.status)) return data;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`job ${jobId} did not reach ${until}`);
}

function exportBody(
  reportType: string,
  extra: Partial<components["schemas"]["ExportReportJobRequest"]> = {},
): components["schemas"]["ExportReportJobRequest"] {
  return { jobType: "export_report", payload: { reportType, format: "csv" }, ...extra };
}

// A typo in a job type or a payload field does not compile.
// @ts-expect-error: no such job type
const typo: components["schemas"]["CreateJobRequest"] = { jobType: "export_reprot", payload: { reportType: "quotes", format: "csv" } };
// @ts-expect-error: no such payload field
const field: components["schemas"]["ExportReportJobRequest"] = { jobType: "export_report", payload: { reportType: "quotes", formatt: 1 } };
void typo;
void field;

// Create, poll to the end, and read the export's typed result.
const created = await client.POST("/v1/jobs", { body: exportBody("quotes", { priority: 5 }) });
check(created.response.status === 202 && created.data !== undefined, "create");
const jobId: string = created.data.jobId;
const done = await poll(jobId, ["succeeded", "failed"]);
const job: Job = done.job;
check(job.jobType === "export_report" && job.status === "succeeded", `export ${job.status}`);
check(job.result !== null && job.result !== undefined, "no result");
const { downloadUrl, fileSize, recordCount, expiresAt } = job.result;
check(typeof fileSize === "number" && recordCount === 0 && typeof expiresAt === "string", "result");
check(job.payload?.format === "csv", "payload");

// Poll with the ETag: 304.
const first = await client.GET("/v1/jobs/{job_id}/status", { params: { path: { job_id: jobId } } });
const etag = first.response.headers.get("ETag") ?? "";
const again = await client.GET("/v1/jobs/{job_id}/status", {
  params: { path: { job_id: jobId }, header: { "If-None-Match": etag } },
});
check(again.response.status === 304, `ETag poll: ${again.response.status}`);

// Download with the signed link alone, then with the bearer token.
const link = new URL(downloadUrl, baseUrl).searchParams;
const byLink = await anonymous.GET("/v1/exports/{job_id}/download", {
  params: { path: { job_id: jobId }, query: { expires: Number(link.get("expires")), sig: link.get("sig") ?? "" } },
  parseAs: "text",
});
const byToken = await client.GET("/v1/exports/{job_id}/download", { params: { path: { job_id: jobId } }, parseAs: "text" });
check(byLink.response.status === 200 && byToken.response.status === 200, "download");
check(typeof byLink.data === "string" && byLink.data === byToken.data && byLink.data.startsWith("Quote Number,"), "file");

// Cancel a job scheduled for later.
const later = new Date(Date.now() + 3600_000).toISOString();
const scheduled = await client.POST("/v1/jobs", { body: exportBody("quotes", { scheduledAt: later }) });
check(scheduled.data !== undefined, "schedule");
const cancelled = await client.POST("/v1/jobs/{job_id}/cancel", { params: { path: { job_id: scheduled.data.jobId } } });
check(cancelled.data?.message === "Job cancelled successfully", "cancel");

// An unknown report type is accepted, fails in step 1, and may be retried.
const failing = await client.POST("/v1/jobs", { body: exportBody("invalid_report") });
check(failing.data !== undefined, "create failing");
const failed = await poll(failing.data.jobId, ["failed"]);
check(failed.canRetry && failed.job.currentStep === 1, "failed");
const retried = await client.POST("/v1/jobs/{job_id}/retry", { params: { path: { job_id: failing.data.jobId } } });
check(retried.data?.message === "Job retry initiated successfully", "retry");

// The list.
const list = await client.GET("/v1/jobs", { params: { query: { pageSize: 10 } } });
check(list.data !== undefined && list.data.total === 3, "list");
const statuses = list.data.jobs.map((listed) => listed.status);
check(statuses.includes("succeeded") && statuses.includes("cancelled"), `list statuses ${statuses}`);

// A 422: a problem with its field errors.
const invalid = await client.POST("/v1/jobs", { body: exportBody("quotes", { priority: 99 }) });
check(invalid.response.status === 422 && invalid.error !== undefined, "422");
const problem = invalid.error;
check("errors" in problem && problem.errors[0]?.loc === "priority", "field errors");

// 404: a problem without `errors`.
const missing = await client.POST("/v1/jobs/{job_id}/cancel", {
  params: { path: { job_id: "00000000-0000-0000-0000-000000000001" } },
});
check(missing.response.status === 404 && missing.error?.status === 404 && !("errors" in missing.error), "404");

console.log("flows ok");
