// The speaker timeline: one SVG lane per speaker, plus overlap, dead air and interruption marks.
//
// Drawn in CSS pixels and redrawn when its width changes, so labels never stretch; the waveform
// uses the same left gutter (gutterFor), so a moment lines up in both.

import { clock, svg } from "./common.js";

const AXIS = 24;
const LANE = 28;
const BAR = 18;
const MARK_LANE = 18;
const OVERLAP_INK = "#7f1d1d";
const DEAD_AIR_INK = "#5b6572";

export function gutterFor(width) {
  return width < 640 ? 84 : 124;
}

/** Seconds with two or more speakers talking, from the diarizer's (possibly overlapping) turns. */
export function overlapsOf(turns) {
  const events = [];
  for (const [speaker, spans] of groupBySpeaker(turns)) {
    for (const [start, end] of merge(spans)) events.push([start, 1, speaker], [end, -1, speaker]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = [];
  let talking = 0;
  let since = 0;
  for (const [time, step] of events) {
    if (talking >= 2 && time > since) out.push([since, time]);
    talking += step;
    since = time;
  }
  return merge(out);
}

function groupBySpeaker(turns) {
  const groups = new Map();
  for (const turn of turns) {
    if (!groups.has(turn.speaker)) groups.set(turn.speaker, []);
    groups.get(turn.speaker).push([turn.start, turn.end]);
  }
  return groups;
}

function merge(spans) {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const out = [];
  for (const [start, end] of sorted) {
    const last = out.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

function tickStep(duration, plotWidth) {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  return steps.find((step) => (plotWidth * step) / duration >= 72) ?? 7200;
}

/** Tick labels at the ends of the axis are drawn inside it, not cut off. */
function anchor(px, gutter, width) {
  if (px < gutter + 20) return "start";
  return px > width - 28 ? "end" : "middle";
}

function shortName(name, room) {
  const fits = Math.max(4, Math.floor(room / 7.5));
  return name.length > fits ? `${name.slice(0, fits - 1)}…` : name;
}

function hatch(id, ink) {
  return svg(
    "pattern",
    { id, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
    svg("rect", { width: 6, height: 6, fill: "#ffffff" }),
    svg("rect", { width: 3, height: 6, fill: ink }),
  );
}

/**
 * Draw into *container*. Options: speakers (names, lane order), colours (Map), duration (s), turns
 * ({start, end, speaker}), deadAir ([{start, end, duration}]), interruptions ([{time, interrupter,
 * interrupted}]), onSeek(seconds). Returns {setTime(seconds)} to move the playhead.
 */
export function createTimeline(container, options) {
  const { speakers, colours, duration, turns, deadAir, interruptions, onSeek } = options;
  const overlaps = overlapsOf(turns);
  let playhead = null;
  let scale = null;
  let lastWidth = 0;
  let time = 0;

  function draw() {
    const width = Math.max(320, container.clientWidth);
    lastWidth = container.clientWidth;
    const gutter = gutterFor(width);
    const plot = width - gutter - 8;
    const x = (t) => gutter + (Math.min(Math.max(t, 0), duration) / duration) * plot;
    const laneTop = (i) => AXIS + i * LANE;
    const marksTop = laneTop(speakers.length);
    const height = marksTop + 2 * MARK_LANE + 6;
    scale = { gutter, plot };

    const root = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      height,
      role: "img",
      "aria-label":
        `Speaker timeline over ${clock(duration)}: ${speakers.length} speakers, ` +
        `${overlaps.length} stretches of overlap, ${interruptions.length} interruptions, ` +
        `${deadAir.length} stretches of dead air. Click to seek.`,
    });
    root.append(svg("defs", {}, hatch("overlap-hatch", OVERLAP_INK), hatch("dead-hatch", DEAD_AIR_INK)));

    const axis = svg("g", { class: "axis" });
    const step = tickStep(duration, plot);
    for (let t = 0; t <= duration + 1e-6; t += step) {
      axis.append(
        svg("line", { x1: x(t), x2: x(t), y1: AXIS - 6, y2: height - 4, stroke: "#e3e7ec" }),
        svg("text", { x: x(t), y: 14, "text-anchor": anchor(x(t), gutter, width) }, clock(t)),
      );
    }
    root.append(axis);

    for (const span of deadAir) {
      const band = { x: x(span.start), width: Math.max(1, x(span.end) - x(span.start)) };
      root.append(svg("rect", { ...band, y: AXIS, height: marksTop - AXIS, fill: "#000000", "fill-opacity": 0.06 }));
    }

    speakers.forEach((speaker, i) => {
      const lane = svg("g", { class: "lane", "data-speaker": speaker });
      const y = laneTop(i) + (LANE - BAR) / 2;
      lane.append(
        svg("title", {}, speaker),
        svg("text", { x: 4, y: y + BAR - 4 }, shortName(speaker, gutter - 10)),
      );
      for (const turn of turns) {
        if (turn.speaker !== speaker) continue;
        const bar = svg("rect", {
          class: "turn",
          x: x(turn.start),
          y,
          width: Math.max(1.5, x(turn.end) - x(turn.start)),
          height: BAR,
          rx: 2,
          fill: colours.get(speaker),
          stroke: "#1b1f24",
          "stroke-width": 0.75,
        });
        bar.append(svg("title", {}, `${speaker} ${clock(turn.start)}–${clock(turn.end)}`));
        lane.append(bar);
      }
      root.append(lane);
    });

    for (const cut of interruptions) {
      const i = speakers.indexOf(cut.interrupter);
      if (i < 0) continue;
      const cx = x(cut.time);
      const top = laneTop(i) + 1;
      const mark = svg("polygon", {
        class: "interruption",
        points: `${cx - 5},${top} ${cx + 5},${top} ${cx},${top + 8}`,
        fill: "#ffffff",
        stroke: "#1b1f24",
        "stroke-width": 1.5,
      });
      mark.append(svg("title", {}, `${clock(cut.time)} ${cut.interrupter} interrupted ${cut.interrupted}`));
      root.append(mark);
    }

    const marks = [
      ["Overlap", overlaps.map(([start, end]) => ({ start, end })), "url(#overlap-hatch)", OVERLAP_INK],
      ["Dead air", deadAir, "url(#dead-hatch)", DEAD_AIR_INK],
    ];
    marks.forEach(([label, spans, fill, ink], row) => {
      const y = marksTop + row * MARK_LANE + 3;
      const group = svg("g", { class: `marks ${label === "Overlap" ? "overlap" : "dead-air"}` });
      group.append(svg("text", { x: 4, y: y + 11 }, label));
      for (const span of spans) {
        const rect = svg("rect", {
          x: x(span.start),
          y,
          width: Math.max(2, x(span.end) - x(span.start)),
          height: MARK_LANE - 6,
          fill,
          stroke: ink,
        });
        rect.append(svg("title", {}, `${label} ${clock(span.start)}–${clock(span.end)}`));
        group.append(rect);
      }
      root.append(group);
    });

    playhead = svg("line", {
      class: "playhead",
      y1: AXIS - 4,
      y2: height - 2,
      stroke: "#b3261e",
      "stroke-width": 2,
    });
    root.append(playhead);
    root.addEventListener("click", (event) => {
      const box = root.getBoundingClientRect();
      const px = ((event.clientX - box.left) * width) / box.width;
      if (px < gutter - 4) return;
      onSeek(Math.min(Math.max(((px - gutter) / plot) * duration, 0), duration));
    });
    container.replaceChildren(root);
    setTime(time);
  }

  function setTime(seconds) {
    time = seconds;
    if (!playhead || !scale) return;
    const px = scale.gutter + (Math.min(Math.max(seconds, 0), duration) / duration) * scale.plot;
    playhead.setAttribute("x1", px);
    playhead.setAttribute("x2", px);
  }

  new ResizeObserver(() => {
    if (container.clientWidth !== lastWidth) draw();
  }).observe(container);
  draw();
  return { setTime, overlaps };
}

/** Legend entries: each speaker's colour, then the marks. */
export function renderLegend(list, speakers, colours) {
  const swatch = (attrs) => svg("svg", { width: 22, height: 14, "aria-hidden": "true" }, svg("rect", attrs));
  const items = speakers.map((name) => [
    swatch({ width: 22, height: 14, rx: 2, fill: colours.get(name), stroke: "#1b1f24", "stroke-width": 0.5 }),
    name,
  ]);
  const patterned = (id, ink) =>
    svg(
      "svg",
      { width: 22, height: 14, "aria-hidden": "true" },
      svg("defs", {}, hatch(id, ink)),
      svg("rect", { width: 22, height: 14, fill: `url(#${id})`, stroke: ink }),
    );
  items.push([patterned("legend-overlap", OVERLAP_INK), "overlap (two or more talking)"]);
  items.push([patterned("legend-dead", DEAD_AIR_INK), "dead air (3 s or more of silence)"]);
  items.push([
    svg(
      "svg",
      { width: 22, height: 14, "aria-hidden": "true" },
      svg("polygon", { points: "6,1 16,1 11,10", fill: "#ffffff", stroke: "#1b1f24", "stroke-width": 1.5 }),
    ),
    "interruption (in the interrupter's lane)",
  ]);
  list.replaceChildren(
    ...items.map(([icon, label]) => {
      const item = document.createElement("li");
      item.append(icon, label);
      return item;
    }),
  );
}
