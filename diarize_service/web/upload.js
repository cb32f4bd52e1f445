// Upload calls: the job options form, the drop zone, and one progress row per file.
//
// Files go one at a time through POST /diarize (one job each), so a batch of calls neither floods
// the service nor trips the per-key rate limit at once, and each file gets its own error in words.

import { submit } from "./api.js";
import { el } from "./common.js";

const DEFAULT_NAMES = ["Agent", "Customer"];

class OptionsError extends Error {}

/** The form's options as /diarize form fields, leaving out what the service defaults anyway. */
export function jobFields(form) {
  const data = new FormData(form);
  const text = (name) => String(data.get(name) ?? "").trim();
  const fields = {};
  for (const name of ["num_speakers", "min_speakers", "max_speakers"]) {
    if (text(name)) fields[name] = text(name);
  }
  if (text("language")) fields.language = text("language").toLowerCase();
  fields.channel_mode = text("channel_mode") || "auto";
  const names = [text("channel_left"), text("channel_right")];
  if (names.some((name) => name.includes(","))) {
    throw new OptionsError("Channel names cannot contain commas.");
  }
  if (names[0] !== DEFAULT_NAMES[0] || names[1] !== DEFAULT_NAMES[1]) {
    fields.channel_names = names.join(",");
  }
  if (data.get("redact_pii")) fields.redact_pii = "true";
  return fields;
}

function uploadRow(file) {
  const bar = el("progress", { max: "1", value: "0", "aria-label": `Upload of ${file.name}` });
  const state = el("span", { class: "state" }, "waiting to upload");
  const row = el("li", {}, el("span", { class: "name" }, file.name), bar, state);
  return { row, bar, state };
}

/**
 * Wire the drop zone and file picker. *onQueued* is called after each accepted upload, so that
 * the job list shows the new job at once.
 */
export function initUploads({ form, zone, input, chooser, list, onQueued }) {
  const queue = [];
  let busy = false;

  async function pump() {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const { file, fields, bar, state } = queue.shift();
      state.textContent = "uploading…";
      try {
        const accepted = await submit(file, fields, (share) => {
          bar.value = share;
          state.textContent = `uploading… ${Math.round(share * 100)} %`;
        });
        bar.value = 1;
        const link = el("a", { href: `/ui/jobs/${encodeURIComponent(accepted.job_id)}` }, "follow it");
        state.replaceChildren(`Queued: `, link);
        onQueued(accepted);
      } catch (error) {
        bar.hidden = true;
        state.className = "state error-text";
        state.textContent = error.message;
      }
    }
    busy = false;
  }

  function add(files) {
    let fields;
    try {
      fields = jobFields(form);
    } catch (error) {
      if (!(error instanceof OptionsError)) throw error;
      const { row, bar, state } = uploadRow({ name: "Options" });
      bar.hidden = true;
      state.className = "state error-text";
      state.textContent = error.message;
      list.prepend(row);
      return;
    }
    for (const file of files) {
      const { row, bar, state } = uploadRow(file);
      list.append(row);
      queue.push({ file, fields, bar, state });
    }
    pump();
  }

  chooser.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    add([...input.files]);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("over");
    });
  }
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove("over");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length) add(files);
  });
  // A file dropped beside the zone must not make the browser navigate away to play it.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => event.preventDefault());
  }
}
