// /ui/jobs/{job_id}: follow a job's progress, then review the call -- player and waveform,
// speaker timeline, transcript, statistics, downloads -- with the keyboard as well as the mouse.

import { download, getJson, request } from "./api.js";
import { clock, duration, el, initPage, showMessage, speakerColours, when } from "./common.js";
import { renderCallTable, renderInterruptions, renderSpeakerTable, renderTalkChart } from "./stats.js";
import { createTimeline, renderLegend } from "./timeline.js";
import { createTranscript, segmentAt } from "./transcript.js";
import { renderVoices } from "./voices.js";
import { MAX_WAVEFORM_SECONDS, createWaveform } from "./waveform.js";

const jobId = decodeURIComponent(window.location.pathname.split("/").filter(Boolean).pop());
const path = `/jobs/${encodeURIComponent(jobId)}`;
const $ = (id) => document.getElementById(id);
const message = $("message");
const audio = $("audio");
const FORMATS = [
  ["srt", "SRT subtitles"],
  ["vtt", "WebVTT subtitles"],
  ["txt", "Transcript (text)"],
  ["json", "Full result (JSON)"],
  ["rttm", "RTTM (speaker timeline)"],
];
const STAGES = {
  decoded: "audio decoded",
  transcribed: "speech transcribed",
  diarized: "speakers found",
  assigned: "words given to speakers",
};

const view = { segments: [], transcript: null, timeline: null, waveform: null, hasAudio: false };

async function follow() {
  let job;
  try {
    job = await getJson(path);
  } catch (error) {
    showMessage(message, error.message);
    if (error.status === 0 || error.status >= 500) setTimeout(follow, 5000);
    return;
  }
  $("title").textContent = job.filename || "Call";
  document.title = `${job.filename || "Call"} · Call review console`;
  if (job.status === "completed") {
    $("progress-panel").hidden = true;
    showMessage(message, "");
    review(job);
    return;
  }
  if (job.status === "failed") {
    $("progress-panel").hidden = true;
    $("summary").textContent = `Submitted ${when(job.created_at)}.`;
    showMessage(message, `This call could not be processed. ${job.error || ""}`);
    return;
  }
  $("progress-panel").hidden = false;
  const progress = $("progress");
  progress.value = job.progress;
  const since = job.started_at ? ` · running for ${clock(Date.now() / 1000 - job.started_at)}` : "";
  const stage = job.stage ? ` · ${STAGES[job.stage] ?? job.stage}` : "";
  $("progress-text").textContent =
    job.status === "queued"
      ? "Waiting in the queue for a free worker…"
      : `${Math.round(job.progress * 100)} %${stage}${since}`;
  $("summary").textContent = `Submitted ${when(job.created_at)}.`;
  setTimeout(follow, 1000);
}

function speakersOf(result) {
  const names = [...Object.keys(result.speakers ?? {})];
  for (const item of [...(result.diarization ?? []), ...(result.segments ?? [])]) {
    if (!names.includes(item.speaker)) names.push(item.speaker);
  }
  return names;
}

function review(job) {
  const result = job.result;
  const speakers = speakersOf(result);
  const colours = speakerColours(speakers);
  const length = result.audio_duration || Math.max(1, ...result.segments.map((s) => s.end));
  view.segments = result.segments ?? [];
  $("summary").textContent =
    `${duration(length)} · ${speakers.length} speakers · submitted ${when(job.created_at)}` +
    (job.options?.redact_pii ? " · personal numbers redacted" : "");
  $("review").hidden = false;

  const turns = result.diarization?.length ? result.diarization : view.segments;
  view.timeline = createTimeline($("timeline"), {
    speakers,
    colours,
    duration: length,
    turns,
    deadAir: result.analytics?.dead_air ?? [],
    interruptions: result.analytics?.interruptions ?? [],
    onSeek: seek,
  });
  renderLegend($("legend"), speakers, colours);
  view.transcript = createTranscript($("segments"), view.segments, colours, (index, { play }) => {
    select(index, { focus: false });
    if (play) playFromHere();
  });
  renderTalkChart($("talk-chart"), result, speakers, colours);
  renderSpeakerTable($("speaker-table"), result, speakers, colours);
  renderCallTable($("call-table"), result);
  renderInterruptions($("interruptions"), result, seek);
  renderVoices($("voices"), jobId, result, speakers);
  renderDownloads(job);
  loadAudio(job, length);
}

function renderDownloads(job) {
  const stem = (job.filename || "call").replace(/\.[^.]*$/, "") || "call";
  const buttons = FORMATS.map(([format, label]) => {
    const button = el("button", { type: "button", "data-format": format }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await download(`${path}/result?format=${format}`, `${stem}.${format}`);
      } catch (error) {
        showMessage(message, error.message);
      } finally {
        button.disabled = false;
      }
    });
    return button;
  });
  $("downloads").replaceChildren(...buttons);
}

async function loadAudio(job, length) {
  const note = $("audio-note");
  let blob;
  try {
    // Fetched with the key header and handed to the player as a blob: <audio src> cannot send it.
    blob = await (await request(`${path}/audio`, { accept: "audio/ogg" })).blob();
  } catch (error) {
    note.hidden = false;
    note.textContent =
      error.status === 404
        ? "The audio of this call is not kept, so it cannot be played here: by default the service " +
          "erases call audio once a job is done (POPIA). The timeline and the transcript below are " +
          "complete. An administrator can set KEEP_PLAYBACK_COPY=true to keep a compressed copy for " +
          "review, erased with the result."
        : `The audio could not be loaded. ${error.message}`;
    return;
  }
  view.hasAudio = true;
  audio.src = URL.createObjectURL(blob);
  $("player").hidden = false;
  audio.addEventListener("timeupdate", () => onTime(audio.currentTime));
  audio.addEventListener("seeked", () => onTime(audio.currentTime));
  audio.addEventListener("play", tick);
  const canvas = $("waveform");
  if (length > MAX_WAVEFORM_SECONDS) {
    canvas.hidden = true;
    return;
  }
  const split = job.result.channel_mode === "split";
  const labels = split ? job.options?.channel_names ?? ["Left", "Right"] : ["Left", "Right"];
  try {
    view.waveform = await createWaveform(canvas, blob, { duration: length, labels, onSeek: seek });
    view.waveform.setTime(audio.currentTime); // the user may have sought while it was decoding
    canvas.dataset.drawn = "true";
  } catch {
    canvas.hidden = true; // the player still works; the waveform is an aid
  }
}

function tick() {
  onTime(audio.currentTime);
  if (!audio.paused) requestAnimationFrame(tick);
}

function onTime(seconds, follow = !audio.paused) {
  view.timeline?.setTime(seconds);
  view.waveform?.setTime(seconds);
  const index = segmentAt(view.segments, seconds);
  if (index >= 0) view.transcript?.mark(index, { follow });
}

/** Jump to *seconds*: the player when the audio is kept, otherwise the timeline cursor and segment. */
function seek(seconds) {
  if (view.hasAudio) audio.currentTime = seconds;
  onTime(seconds, true);
}

function select(index, { focus }) {
  const segment = view.segments[index];
  if (!segment) return;
  if (view.hasAudio) audio.currentTime = segment.start;
  view.timeline?.setTime(segment.start);
  view.waveform?.setTime(segment.start);
  view.transcript.mark(index, { focus });
}

function playFromHere() {
  if (view.hasAudio) audio.play().catch(() => {});
}

function togglePlay() {
  if (!view.hasAudio) return;
  if (audio.paused) audio.play().catch(() => {});
  else audio.pause();
}

const TYPING = "input, textarea, select, button, a, audio, dialog, [contenteditable]";

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  if (!view.transcript || event.target.closest?.(TYPING)) return;
  const current = view.transcript.current();
  const last = view.segments.length - 1;
  const moves = {
    ArrowDown: current + 1,
    ArrowRight: current + 1,
    ArrowUp: current - 1,
    ArrowLeft: current - 1,
    Home: 0,
    End: last,
  };
  if (event.key === " ") {
    event.preventDefault();
    togglePlay();
  } else if (event.key in moves && last >= 0) {
    event.preventDefault();
    select(Math.min(Math.max(moves[event.key], 0), last), { focus: true });
  }
});

initPage();
follow();
