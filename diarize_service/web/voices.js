// Enrolled voices on a call (issue #23): who each speaker was named after, and enrolment from the
// call itself. An analyst who has just listened to a speaker is the one who knows "that is Thandi":
// enrolling from here uses the print the job kept (never audio), exactly as POST /speakers does.

import { postForm } from "./api.js";
import { el } from "./common.js";

// 409 means different things here (name taken, sample already held): the service's title says which.
const LEADS = { 409: null, 422: "This speaker cannot be enrolled." };

function status(text, kind) {
  return el("p", { class: `voice-status ${kind}`, role: "status" }, text);
}

function seconds(value) {
  return `${Math.round(value)} s`;
}

/** A named speaker: its voice and similarity, and a button that adds this call to the voice. */
function namedRow(jobId, name, entry) {
  const row = el("li", { "data-speaker": name });
  const similarity = Math.round((entry.similarity ?? 0) * 100) / 100;
  const joined = entry.joined?.length ? ` (joined with ${entry.joined.join(", ")})` : "";
  const add = el("button", { type: "button", class: "add-sample" }, `Add this call to ${name}'s voice`);
  const what = `${name}: enrolled voice, similarity ${similarity}${joined}`;
  row.append(el("span", { class: "voice-name" }, what), add);
  add.addEventListener("click", async () => {
    add.disabled = true;
    row.querySelector(".voice-status")?.remove();
    try {
      const voice = await postForm(
        `/speakers/${encodeURIComponent(entry.speaker_id)}/samples`,
        { job_id: jobId, speaker: name },
        LEADS,
      );
      const held = seconds(voice.speech_seconds);
      row.append(status(`Added: ${name}'s voice now holds ${held} of speech.`, "info"));
    } catch (error) {
      row.append(status(error.message, "error-text"));
      add.disabled = false;
    }
  });
  return row;
}

/** An unnamed speaker: a small form that enrols it under a name (and the agent role, if chosen). */
function enrolRow(jobId, label, index) {
  const nameId = `voice-name-${index}`;
  const roleId = `voice-role-${index}`;
  const name = el("input", {
    id: nameId,
    name: "name",
    maxlength: "80",
    required: true,
    autocomplete: "off",
  });
  const role = el(
    "select",
    { id: roleId, name: "role" },
    el("option", { value: "" }, "no role"),
    el("option", { value: "agent" }, "agent"),
  );
  const button = el("button", { type: "submit" }, "Enrol");
  const form = el(
    "form",
    { class: "voice-form", "data-speaker": label },
    el("label", { for: nameId }, `Enrol ${label} as`),
    name,
    el("label", { for: roleId, class: "visually-hidden" }, "Role"),
    role,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    form.querySelector(".voice-status")?.remove();
    const fields = { name: name.value.trim(), job_id: jobId, speaker: label };
    if (role.value) fields.role = role.value;
    try {
      const voice = await postForm("/speakers", fields, LEADS);
      form.replaceChildren(
        status(
          `Enrolled ${label} as ${voice.name} (${seconds(voice.speech_seconds)} of speech). ` +
            "Calls processed from now on name this voice.",
          "info",
        ),
      );
    } catch (error) {
      form.append(status(error.message, "error-text"));
      button.disabled = false;
    }
  });
  return el("li", { "data-speaker": label }, form);
}

/** The call's speakers: named ones with their voice, the others with a form to enrol them. */
export function renderVoices(list, jobId, result, speakers) {
  const identified = result.identified ?? {};
  list.replaceChildren(
    ...speakers.map((speaker, i) =>
      identified[speaker] ? namedRow(jobId, speaker, identified[speaker]) : enrolRow(jobId, speaker, i),
    ),
  );
}
