// The waveform, computed in the browser from the playback copy (Web Audio decodeAudioData).
//
// Decoded at 8 kHz into an OfflineAudioContext -- enough to see speech, and an hour of stereo
// stays near 230 MB while decoding -- then reduced to a fixed number of peaks, so redrawing
// (resize, playback progress) is cheap. Split calls keep two strips: left party above, right below.

import { gutterFor } from "./timeline.js";

const RATE = 8000;
const BUCKETS = 2400;
export const MAX_WAVEFORM_SECONDS = 2 * 3600;

async function peaksOf(blob) {
  const context = new OfflineAudioContext({ numberOfChannels: 2, length: 1, sampleRate: RATE });
  const audio = await context.decodeAudioData(await blob.arrayBuffer());
  const channels = [];
  for (let c = 0; c < audio.numberOfChannels; c++) {
    const data = audio.getChannelData(c);
    const size = Math.max(1, Math.ceil(data.length / BUCKETS));
    const peaks = new Float32Array(Math.ceil(data.length / size));
    for (let b = 0; b < peaks.length; b++) {
      let peak = 0;
      const end = Math.min(data.length, (b + 1) * size);
      for (let i = b * size; i < end; i++) {
        const value = Math.abs(data[i]);
        if (value > peak) peak = value;
      }
      peaks[b] = peak;
    }
    channels.push(peaks);
  }
  return { channels, seconds: audio.duration };
}

/**
 * Draw the waveform of *blob* on *canvas*, sharing the timeline's x axis over *duration*
 * seconds. *labels* name the two strips of a stereo copy. Returns {setTime} for the progress
 * shading; clicks call onSeek(seconds).
 */
export async function createWaveform(canvas, blob, { duration, labels, onSeek }) {
  const { channels } = await peaksOf(blob);
  let time = 0;
  let geometry = null;

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    const gutter = gutterFor(Math.max(320, width));
    const plot = width - gutter - 8;
    geometry = { gutter, plot };
    const played = gutter + (Math.min(time, duration) / duration) * plot;
    const strip = height / channels.length;
    channels.forEach((peaks, c) => {
      const middle = strip * c + strip / 2;
      const loudest = Math.max(0.05, ...peaks);
      ctx.fillStyle = "#1b1f24";
      ctx.font = "12px system-ui, sans-serif";
      if (channels.length > 1) ctx.fillText(labels[c] ?? (c ? "Right" : "Left"), 4, middle + 4);
      for (let px = 0; px < plot; px++) {
        const bucket = Math.floor((px / plot) * peaks.length);
        const half = (peaks[bucket] / loudest) * (strip / 2 - 3);
        ctx.fillStyle = gutter + px < played ? "#0b57d0" : "#8a96a6";
        ctx.fillRect(gutter + px, middle - half, 1, Math.max(1, half * 2));
      }
    });
    ctx.fillStyle = "#b3261e";
    ctx.fillRect(played - 1, 0, 2, height);
  }

  function setTime(seconds) {
    const before = time;
    time = seconds;
    if (!geometry || Math.abs(before - seconds) * (geometry.plot / duration) >= 1) draw();
  }

  canvas.addEventListener("click", (event) => {
    if (!geometry) return;
    const box = canvas.getBoundingClientRect();
    const px = event.clientX - box.left - geometry.gutter;
    if (px >= 0) onSeek(Math.min(Math.max((px / geometry.plot) * duration, 0), duration));
  });
  new ResizeObserver(draw).observe(canvas);
  draw();
  return { setTime };
}
