// Statistics and analytics of a call: a talk-time chart, a table per speaker, one for the call,
// and the interruptions as buttons that seek to them.

import { clock, duration, el, svg } from "./common.js";

const LANGUAGES = { en: "English", af: "Afrikaans" };

/** Seconds a speaker talks on the diarizer's timeline (what the analytics measure), else in segments. */
function talkTime(result, speaker) {
  return result.analytics?.speakers?.[speaker]?.talk_time ?? result.speakers?.[speaker]?.total_duration ?? 0;
}

/** Horizontal bars of talk time per speaker, labelled with time and share (not colour alone). */
export function renderTalkChart(container, result, speakers, colours) {
  const total = speakers.reduce((sum, s) => sum + talkTime(result, s), 0) || 1;
  const longest = Math.max(1, ...speakers.map((s) => talkTime(result, s)));
  const row = 26;
  const width = 400;
  const labelWidth = 110;
  const barRoom = width - labelWidth - 100;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${speakers.length * row + 4}`,
    role: "img",
    "aria-label": `Talk time: ${speakers
      .map((s) => `${s} ${duration(talkTime(result, s))}`)
      .join(", ")}`,
  });
  speakers.forEach((speaker, i) => {
    const seconds = talkTime(result, speaker);
    const length = Math.max(1, (seconds / longest) * barRoom);
    const y = i * row + 4;
    const name = speaker.length > 14 ? `${speaker.slice(0, 13)}…` : speaker;
    chart.append(
      svg("text", { x: 0, y: y + 14 }, name),
      svg("rect", {
        x: labelWidth,
        y,
        width: length,
        height: 18,
        rx: 2,
        fill: colours.get(speaker),
        stroke: "#1b1f24",
        "stroke-width": 0.5,
      }),
      svg(
        "text",
        { x: labelWidth + length + 6, y: y + 14 },
        `${duration(seconds)} · ${Math.round((seconds / total) * 100)} %`,
      ),
    );
  });
  container.replaceChildren(el("h3", {}, "Talk time"), chart);
}

function numberCell(text) {
  return el("td", { class: "num" }, text);
}

/** Per speaker (one column each, so it fits beside the transcript): talk, share, pace, monologue. */
export function renderSpeakerTable(table, result, speakers, colours) {
  const number = (value, digits) => (value === null || value === undefined ? "–" : value.toFixed(digits));
  const allTalk = speakers.reduce((sum, s) => sum + talkTime(result, s), 0) || 1;
  const rows = [
    ["Talk time", (s) => duration(talkTime(result, s))],
    ["Share of talk", (s) => `${number((talkTime(result, s) / allTalk) * 100, 1)} %`],
    ["Speech in transcript", (s) => duration(result.speakers?.[s]?.total_duration)],
    ["Segments", (s) => String(result.speakers?.[s]?.segment_count ?? "–")],
    ["Words", (s) => String(result.speakers?.[s]?.word_count ?? "–")],
    ["Words per minute", (s) => number(result.analytics?.speakers?.[s]?.words_per_minute, 0)],
    ["Talk : listen", (s) => number(result.analytics?.speakers?.[s]?.talk_to_listen_ratio, 2)],
    ["Longest monologue", (s) => duration(result.analytics?.speakers?.[s]?.longest_monologue)],
  ];
  const heads = speakers.map((speaker) =>
    el(
      "th",
      { scope: "col", class: "num" },
      el("span", { class: "swatch", "data-colour": colours.get(speaker), "aria-hidden": "true" }),
      speaker,
    ),
  );
  table.replaceChildren(
    el("caption", { class: "visually-hidden" }, "Statistics per speaker"),
    el("thead", {}, el("tr", {}, el("td", {}), ...heads)),
    el(
      "tbody",
      {},
      ...rows.map(([name, value]) =>
        el("tr", {}, el("th", { scope: "row" }, name), ...speakers.map((s) => numberCell(value(s)))),
      ),
    ),
  );
  // Swatch colours come from data, set through the CSSOM: the CSP allows no inline style attributes.
  for (const swatch of table.querySelectorAll(".swatch")) swatch.style.background = swatch.dataset.colour;
}

function deadAirText(analytics) {
  const count = (analytics.dead_air ?? []).length;
  return `${duration(analytics.dead_air_total)} in ${count} ${count === 1 ? "stretch" : "stretches"}`;
}

/** The whole call: length, language, channels, overlap, interruptions, dead air, first response. */
export function renderCallTable(table, result) {
  const a = result.analytics ?? {};
  const language = result.language
    ? `${LANGUAGES[result.language] ?? result.language}` +
      (result.language_probability ? ` (${Math.round(result.language_probability * 100)} % sure)` : "")
    : "–";
  const processing =
    result.processing_time && result.audio_duration
      ? `${duration(result.processing_time)} (${(result.processing_time / result.audio_duration).toFixed(2)} × real time)`
      : "–";
  const rows = [
    ["Length", duration(result.audio_duration)],
    ["Speakers", String(result.total_speakers ?? "–")],
    ["Language", language],
    ["Channels", result.channel_mode === "split" ? "split: one party per channel" : "mixed"],
    ["Overlap", duration(a.overlap_time)],
    ["Interruptions", String(a.interruption_count ?? "–")],
    ["Dead air", deadAirText(a)],
    ["First response after", duration(a.time_to_first_response)],
    ["Processing", processing],
  ];
  table.replaceChildren(
    el("caption", { class: "visually-hidden" }, "Statistics of the call"),
    el(
      "tbody",
      {},
      ...rows.map(([name, value]) => el("tr", {}, el("th", { scope: "row" }, name), numberCell(value))),
    ),
  );
}

/** Interruptions as a list of buttons: the keyboard's way to the marks on the timeline. */
export function renderInterruptions(list, result, onSeek) {
  const cuts = result.analytics?.interruptions ?? [];
  if (!cuts.length) {
    list.replaceChildren(el("li", {}, "None."));
    return;
  }
  list.replaceChildren(
    ...cuts.map((cut) => {
      const button = el("button", { type: "button", class: "link" }, clock(cut.time));
      button.addEventListener("click", () => onSeek(cut.time));
      return el("li", {}, button, ` ${cut.interrupter} interrupted ${cut.interrupted}`);
    }),
  );
}
