// The console's only door to the service: its JSON API, with the API key in a request header.
//
// The key is kept in sessionStorage and sent only as the X-API-Key header. It never goes into a
// URL: URLs are written to access logs, browser history and Referer headers, and get pasted into
// tickets. sessionStorage forgets the key when the tab closes and is not shared between tabs,
// unlike localStorage or a cookie (which would also be sent by forged cross-site requests).

const KEY_NAME = "diarize-console.api-key";

export const keyStore = {
  get: () => sessionStorage.getItem(KEY_NAME),
  set: (key) => sessionStorage.setItem(KEY_NAME, key),
  clear: () => sessionStorage.removeItem(KEY_NAME),
};

let keyPrompt = null; // (message) => Promise<boolean>: true once the user entered a key
let pendingPrompt = null;
let declined = false; // the user cancelled the prompt: polls must not reopen it every few seconds

/** The page's key dialog; called when the service answers 401. */
export function onKeyNeeded(prompt) {
  keyPrompt = prompt;
}

/** One prompt for all the requests that got a 401 at the same time (polls, uploads). */
function askForKey() {
  if (!keyPrompt || declined) return Promise.resolve(false);
  if (!pendingPrompt) {
    const message = keyStore.get()
      ? "The service did not accept that API key. Enter a valid one."
      : "This service needs an API key.";
    pendingPrompt = keyPrompt(message)
      .then((entered) => {
        declined = !entered;
        return entered;
      })
      .finally(() => {
        pendingPrompt = null;
      });
  }
  return pendingPrompt;
}

/** True after the user cancelled the key prompt (the page then offers a button to open it). */
export const keyDeclined = () => declined;

// What each problem status means for an analyst; the service's own detail follows it.
const LEADS = {
  0: "The service cannot be reached.",
  401: "The service needs a valid API key.",
  404: "Not found.",
  408: "The upload was too slow and was stopped.",
  409: "Not ready yet.",
  410: "This result has expired and was erased.",
  413: "The file is too large for this service.",
  415: "This file is not a recording the service can read.",
  422: "The service cannot process this.",
  429: "Too many uploads with this API key.",
  503: "The service cannot take this now.",
};

/** An error answered by the service (RFC 9457 problem details), put in words. */
export class ApiError extends Error {
  constructor(status, title, detail, retryAfter = null, leads = {}) {
    const table = { ...LEADS, ...leads }; // a caller's own wording for a status, or null: the title
    const lead = table[status] ?? (status >= 500 ? "The service had a problem." : `${title}.`);
    const wait = retryAfter ? ` Try again in ${retryAfter} s.` : "";
    const code = status ? ` (error ${status})` : "";
    super(`${lead} ${detail || ""}${wait}`.replace(/\s+/g, " ").trim() + code);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

function problemFrom(status, statusText, text, retryAfter, leads = {}) {
  let body = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (a proxy's error page): the status alone says what happened
  }
  return new ApiError(status, body.title || statusText, body.detail || "", retryAfter, leads);
}

function withKey(headers = {}) {
  const key = keyStore.get();
  return key ? { ...headers, "X-API-Key": key } : headers;
}

/** fetch() against the API: asks for a key on 401 and retries; throws ApiError otherwise.
 *  *body* (a FormData) is sent as is; *leads* words a status the caller's own way (see ApiError). */
export async function request(
  path,
  { method = "GET", accept = "application/json", body = undefined, leads = {} } = {},
) {
  for (;;) {
    let response;
    try {
      const headers = withKey({ Accept: accept });
      response = await fetch(path, { method, body, headers, cache: "no-store" });
    } catch {
      throw new ApiError(0, "Network error", "Check that it is running and this machine can reach it.");
    }
    if (response.status === 401 && (await askForKey())) continue;
    if (!response.ok) {
      const text = await response.text();
      const retry = response.headers.get("Retry-After");
      throw problemFrom(response.status, response.statusText, text, retry, leads);
    }
    return response;
  }
}

/** POST *fields* as a form (what the service's form routes take); resolves with the JSON answer. */
export async function postForm(path, fields, leads = {}) {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return (await request(path, { method: "POST", body, leads })).json();
}

export async function getJson(path) {
  return (await request(path)).json();
}

function sendUpload(file, fields, onProgress) {
  // XMLHttpRequest, not fetch: only it reports upload progress, which matters for long calls.
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("audio_file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/diarize");
    for (const [name, value] of Object.entries(withKey({ Accept: "application/json" }))) {
      xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(JSON.parse(xhr.responseText));
      } else {
        const retry = xhr.getResponseHeader("Retry-After");
        reject(problemFrom(xhr.status, xhr.statusText, xhr.responseText, retry));
      }
    };
    xhr.onerror = () =>
      reject(
        new ApiError(
          0,
          "Network error",
          "The connection closed during the upload: the file may be over the service's size limit, " +
            "or the service stopped.",
        ),
      );
    xhr.send(form);
  });
}

/** POST /diarize one file; resolves with {job_id, status}. */
export async function submit(file, fields, onProgress = () => {}) {
  for (;;) {
    try {
      return await sendUpload(file, fields, onProgress);
    } catch (error) {
      if (error.status === 401 && (await askForKey())) continue;
      throw error;
    }
  }
}

export async function deleteJob(jobId) {
  await request(`/jobs/${encodeURIComponent(jobId)}`, { method: "DELETE" });
}

/** Fetch with the key, then save: a plain link could not carry the key header. */
export async function download(path, fallbackName) {
  const response = await request(path, { accept: "*/*" });
  const blob = await response.blob();
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || fallbackName;
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}
