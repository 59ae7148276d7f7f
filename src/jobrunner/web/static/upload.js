// An import from the page: the CSV goes to POST /v1/uploads (multipart/form-data, with upload
// progress), then a data_processing job names the upload. The job then shows in the list.
import { ApiError } from "/static/jobrunner-client.js";

/**
 * POST /v1/uploads with `file` in a form; onProgress(fraction) while the bytes go out.
 * fetch() cannot report upload progress, hence XMLHttpRequest.
 */
export function uploadFile(file, token, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/v1/uploads?filename=${encodeURIComponent(file.name)}`);
    request.setRequestHeader("Accept", "application/json");
    if (token) request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch {
        data = null;
      }
      if (request.status >= 200 && request.status < 300) resolve(data);
      else reject(new ApiError(request.status, data));
    });
    request.addEventListener("error", () => reject(new Error("network")));
    const form = new FormData();
    form.append("file", file, file.name);
    request.send(form);
  });
}

/** The creation body of the import job for an upload. */
export function importRequest(uploadId, dataset, mode) {
  return { jobType: "data_processing", payload: { operation: "import", dataset, uploadId, mode } };
}
