// /ui: upload calls, and the job list (newest first, live status, filter, delete with confirmation).

import { deleteJob, getJson } from "./api.js";
import { el, initPage, showMessage, when } from "./common.js";
import { initUploads } from "./upload.js";

const STEP = 50; // rows added by "Show more"
const API_PAGE = 100; // the most GET /jobs returns at once
const STAGES = {
  decoded: "audio decoded",
  transcribed: "speech transcribed",
  diarized: "speakers found",
  assigned: "words given to speakers",
};

const table = document.querySelector("#jobs tbody");
const filter = document.getElementById("status-filter");
const message = document.getElementById("jobs-message");
const rows = new Map(); // job_id -> <tr>
let wanted = STEP;
let timer = null;

async function fetchJobs() {
  const jobs = [];
  let total = 0;
  for (let offset = 0; offset < wanted; offset += API_PAGE) {
    const query = new URLSearchParams({ limit: String(Math.min(API_PAGE, wanted - offset)), offset });
    if (filter.value) query.set("status", filter.value);
    const page = await getJson(`/jobs?${query}`);
    jobs.push(...page.jobs);
    total = page.total;
    if (page.jobs.length < page.limit) break;
  }
  return { jobs, total };
}

function progressCell(job) {
  if (job.status === "completed") return [el("span", {}, "done")];
  if (job.status === "failed") return [el("span", { class: "error-text" }, job.error || "failed")];
  if (job.status === "queued") return [el("span", {}, "waiting in the queue")];
  const percent = Math.round(job.progress * 100);
  const bar = el("progress", { max: "1", value: String(job.progress), "aria-label": "Progress" });
  return [bar, " ", el("span", {}, `${percent} %${job.stage ? ` · ${STAGES[job.stage] ?? job.stage}` : ""}`)];
}

function renderRow(job) {
  const name = job.filename || job.job_id;
  const link = el("a", { href: `/ui/jobs/${encodeURIComponent(job.job_id)}` }, name);
  const remove = el("button", { type: "button", class: "danger", "aria-label": `Delete ${name}` }, "Delete");
  remove.addEventListener("click", () => confirmDelete(job.job_id, name));
  const row = rows.get(job.job_id) ?? el("tr", { "data-job-id": job.job_id });
  const key = `${job.status}|${job.progress}|${job.stage}|${job.error}`;
  if (row.dataset.key === key) return row; // unchanged: keep the row (and keyboard focus in it)
  row.dataset.key = key;
  row.dataset.status = job.status;
  row.replaceChildren(
    el("td", {}, link),
    el("td", {}, el("span", { class: `badge ${job.status}` }, job.status)),
    el("td", {}, ...progressCell(job)),
    el("td", {}, when(job.created_at)),
    el("td", { class: "actions" }, remove),
  );
  return row;
}

let refreshing = false;
let again = false;

/** Re-read the list; calls during a refresh are folded into one more, so only one poll loop runs. */
async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  clearTimeout(timer);
  let active = false;
  try {
    const { jobs, total } = await fetchJobs();
    const seen = new Set();
    jobs.forEach((job, index) => {
      seen.add(job.job_id);
      const row = renderRow(job);
      rows.set(job.job_id, row);
      if (table.children[index] !== row) table.insertBefore(row, table.children[index] ?? null);
      active ||= job.status === "queued" || job.status === "processing";
    });
    for (const [id, row] of rows) {
      if (!seen.has(id)) {
        row.remove();
        rows.delete(id);
      }
    }
    document.getElementById("jobs-empty").hidden = jobs.length > 0;
    document.getElementById("jobs-count").textContent = total ? `${jobs.length} of ${total} shown` : "";
    document.getElementById("more").hidden = jobs.length >= total;
    if (message.classList.contains("error")) showMessage(message, "");
  } catch (error) {
    showMessage(message, error.message);
  }
  refreshing = false;
  if (again) {
    again = false;
    refresh();
    return;
  }
  // Live while something runs; slower otherwise, to see jobs submitted from elsewhere.
  timer = setTimeout(refresh, active ? 1500 : 8000);
}

function confirmDelete(jobId, name) {
  const dialog = document.getElementById("confirm-delete");
  document.getElementById("confirm-text").textContent = name;
  dialog.returnValue = "";
  dialog.addEventListener(
    "close",
    async () => {
      if (dialog.returnValue !== "delete") return;
      try {
        await deleteJob(jobId);
        rows.get(jobId)?.remove();
        rows.delete(jobId);
        showMessage(message, `Deleted ${name}: its audio, transcript and record are erased.`, "info");
      } catch (error) {
        showMessage(message, error.message);
      }
      refresh();
    },
    { once: true },
  );
  dialog.showModal();
}

initPage();
initUploads({
  form: document.getElementById("options"),
  zone: document.getElementById("dropzone"),
  input: document.getElementById("file-input"),
  chooser: document.getElementById("choose-files"),
  list: document.getElementById("uploads"),
  onQueued: () => refresh(),
});
filter.addEventListener("change", () => {
  wanted = STEP;
  refresh();
});
document.getElementById("more").addEventListener("click", () => {
  wanted += STEP;
  refresh();
});
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});
refresh();
