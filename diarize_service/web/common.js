// Helpers every page uses: building DOM safely, formatting, speaker colours, the header, the key dialog.
//
// Text from the service (file names, transcripts) is only ever set as textContent, never parsed as
// HTML: a transcript is words spoken by strangers, and the page's CSP forbids inline script anyway.

import { keyDeclined, keyStore, onKeyNeeded, request } from "./api.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/** el("td", {class: "num"}, "12") -- attributes by name; children are nodes or text. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
}

/** 75.4 -> "1:15"; 3725 -> "1:02:05". */
export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Seconds with their unit, to a tenth under a minute: "4.2 s", "1:15". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return seconds < 60 ? `${seconds.toFixed(1)} s` : clock(seconds);
}

export function when(epochSeconds) {
  if (!epochSeconds) return "–";
  return new Date(epochSeconds * 1000).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

// Mostly Okabe & Ito's palette, told apart with the common colour-vision deficiencies: the first
// two (blue, vermillion: most calls have two parties) are the safest pair. The first seven have at
// least 3:1 contrast against white; every bar is drawn with a dark outline all the same, and a
// speaker's name always stands beside the colour, so colour is never the only cue.
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#6A3D9A", "#8F6A00", "#000000", "#56B4E9"];

/** Speaker name -> colour, in the order the result lists them (Speaker_01 first). */
export function speakerColours(names) {
  return new Map(names.map((name, i) => [name, PALETTE[i % PALETTE.length]]));
}

export function showMessage(node, text, kind = "error") {
  node.textContent = text;
  node.className = `message ${kind}`;
  node.hidden = !text;
}

function buildKeyDialog() {
  const input = el("input", {
    id: "key-input",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const message = el("p", { id: "key-message" });
  const form = el(
    "form",
    { method: "dialog" },
    el("h2", { id: "key-title" }, "API key"),
    message,
    el("label", { for: "key-input" }, "Key"),
    input,
    el(
      "p",
      { class: "hint" },
      "Kept in this browser tab only and sent in a request header, never in a link. ",
      "Each key sees only the calls it uploaded.",
    ),
    el(
      "div",
      { class: "actions" },
      el("button", { value: "cancel", formnovalidate: true }, "Cancel"),
      el("button", { value: "ok", class: "primary", id: "key-submit" }, "Use key"),
    ),
  );
  const dialog = el("dialog", { id: "key-dialog", "aria-labelledby": "key-title" }, form);
  document.body.append(dialog);
  return { dialog, input, message };
}

let keyDialog = null;

/** The key prompt: resolves true with a key stored, false when the user cancels. */
function promptForKey(message) {
  const { dialog, input, message: text } = keyDialog ?? (keyDialog = buildKeyDialog());
  text.textContent = message;
  input.value = "";
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const key = input.value.trim();
        input.value = "";
        if (dialog.returnValue === "ok" && key) {
          keyStore.set(key);
          updateKeyControls();
          resolve(true);
        } else {
          resolve(false);
          setTimeout(updateKeyControls, 0); // once the decline is recorded: offer "Enter API key"
        }
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}

function updateKeyControls() {
  document.getElementById("key-controls").hidden = !keyStore.get();
  document.getElementById("enter-key").hidden = Boolean(keyStore.get()) || !keyDeclined();
}

/** The header: the service's state from /health, and "Forget key" while a key is in use. */
export function initPage() {
  onKeyNeeded(promptForKey);
  updateKeyControls();
  document.getElementById("forget-key").addEventListener("click", () => {
    keyStore.clear();
    window.location.reload();
  });
  // A reload asks again: the first request answered 401 opens the prompt.
  document.getElementById("enter-key").addEventListener("click", () => window.location.reload());
  checkHealth();
}

async function checkHealth() {
  const state = document.getElementById("service-state");
  try {
    const response = await fetch("/health", { cache: "no-store" });
    const health = await response.json();
    const running = `${health.jobs_running ?? 0} running, ${health.queue_depth ?? 0} queued`;
    if (response.ok) {
      state.textContent = `Service ready · ${health.device ?? ""} · ${running}`;
      state.classList.remove("down");
    } else {
      state.textContent = "Service starting: models are loading";
      state.classList.add("down");
    }
  } catch {
    state.textContent = "Service unreachable";
    state.classList.add("down");
  }
  setTimeout(checkHealth, 15_000);
}

export { request };
