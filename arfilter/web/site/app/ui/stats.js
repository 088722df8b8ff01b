// How fast the page runs, per frame: tracking, drawing, and frames per second. Shown in a corner
// on request (the Speed button or ?fps=1) and kept in window.arfilterStats, where the benchmark
// and anyone curious (the browser's console) can read it. Numbers only: never a picture.

const KEEP = 300; // frames of history: ten seconds at 30 fps
export const SLOW_MS = 100; // a frame slower than this (sustained) makes the look lag behind the face
const SLOW_FOR_MS = 4000; // how long it must last before the visitor is told

function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1) + 0.5))];
}

export class FrameStats {
  constructor() {
    this.track = [];
    this.render = [];
    this.frameTimes = []; // when each frame was finished (ms), for the frame rate
    this.frames = 0;
    this.slowSince = null;
    this.public = { frames: 0 };
  }

  /** One frame: ms spent tracking and drawing, when it ended, how many faces. */
  add(trackMs, renderMs, endMs, faces) {
    for (const [list, value] of [[this.track, trackMs], [this.render, renderMs], [this.frameTimes, endMs]]) {
      list.push(value);
      if (list.length > KEEP) list.shift();
    }
    this.frames += 1;
    this.faces = faces;
    const busy = trackMs + renderMs;
    this.slowSince = busy > SLOW_MS ? (this.slowSince ?? endMs) : null;
  }

  /** Frames per second over the last (up to) two seconds. */
  fps() {
    const times = this.frameTimes;
    if (times.length < 2) return 0;
    const last = times[times.length - 1];
    let first = times.length - 1;
    while (first > 0 && last - times[first - 1] <= 2000) first--;
    const span = last - times[first];
    return span > 0 ? (times.length - 1 - first) * 1000 / span : 0;
  }

  /** The median frame time (ms) when frames have been over SLOW_MS for a while (not one hiccup), else null. */
  tooSlow(nowMs) {
    if (this.slowSince === null || nowMs - this.slowSince < SLOW_FOR_MS) return null;
    const render = this.render.slice(-30);
    const median = percentile(this.track.slice(-30).map((t, i) => t + render[i]), 0.5);
    return median > SLOW_MS ? median : null;
  }

  /** The figures as a plain object (also window.arfilterStats). */
  summary(extra = {}) {
    const round = (v) => (v === null ? null : Math.round(v * 10) / 10);
    return Object.assign(this.public, {
      frames: this.frames,
      faces: this.faces ?? 0,
      fps: round(this.fps()),
      trackMs: { median: round(percentile(this.track, 0.5)), p95: round(percentile(this.track, 0.95)) },
      renderMs: { median: round(percentile(this.render, 0.5)), p95: round(percentile(this.render, 0.95)) },
      samples: this.track.length,
    }, extra);
  }

  /** The corner's text. */
  text(extra) {
    const s = this.summary(extra);
    return `${s.fps} fps  ${s.width}x${s.height}\ntrack ${s.trackMs.median} ms (p95 ${s.trackMs.p95})\n`
      + `draw ${s.renderMs.median} ms (p95 ${s.renderMs.p95})\nmodel on ${s.delegate}`;
  }
}
