// Faces that keep who they are and hold still: the browser's copy of
// arfilter/tracking/smoothing.py (One Euro over the head's rigid motion and its
// shape) and of the identity part of arfilter/tracking/stabilize.py (matching,
// dropouts, fades, implausible and duplicate faces).
//
// WHY a port and not a new design: the page must look like the desktop filter
// (a bruise that shivers on the phone and not on the kiosk would be a different
// product). tests/web/test_web_smoothing.py feeds the same landmarks to both
// and checks they agree to 1e-3 px. Keep the two in step: the constants below
// are the Python defaults (arfilter/core/limits.py SMOOTH_MIN_CUTOFF, SMOOTH_BETA).

export const MESH_VERTICES = 468;

export const SMOOTHING = Object.freeze({
  minCutoff: 0.2, // Hz, SMOOTH_MIN_CUTOFF.default
  beta: 500.0, // SMOOTH_BETA.default
  deadzone: 0.7,
  shapeMinCutoff: 0.1,
  shapeBeta: 100.0,
  shapeDeadzone: 1.0,
  livelyMinCutoff: 1.0,
  livelyDeadzone: 0.15,
  dCutoff: 2.0,
  enabled: true,
});

export const STABILIZER = Object.freeze({
  hold: 0.10, holdFrames: 1.5, fade: 0.15, forget: 1.0, maxGap: 0.5, minFacePx: 40.0, maxMatchCost: 0.8,
  maxOverlap: 0.4,
});
const INTERVAL_LEARN = 0.25; // stabilize.INTERVAL_LEARN

// Landmarks that expressions barely move: forehead, nose bridge, eye corners, cheekbones, face sides.
export const RIGID_ANCHORS = [10, 151, 9, 8, 108, 337, 67, 297, 109, 338, 168, 6, 197, 195, 5, 4, 1,
  133, 362, 33, 263, 116, 345, 118, 347, 50, 280, 234, 454, 127, 356, 93, 323];

// Eyelids and the ring around them (they blink): smoothing.LIVELY_LANDMARKS.
const LIVELY_LANDMARKS = [7, 22, 23, 24, 25, 26, 27, 28, 29, 30, 33, 56, 110, 112, 130, 133, 144, 145, 153,
  154, 155, 157, 158, 159, 160, 161, 163, 173, 190, 243, 246, 247, 249, 252, 253, 254, 255, 256, 257, 258,
  259, 260, 263, 286, 339, 341, 359, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 414,
  463, 466, 467];

/** Smoothing factor of a first-order low-pass filter at `cutoff` Hz for a step of `dt` s. */
function alpha(cutoff, dt) {
  const tau = 1.0 / (2.0 * Math.PI * cutoff);
  return 1.0 / (1.0 + tau / dt);
}

/** Python's floored modulo (JS's % keeps the sign of the dividend). */
function floorMod(a, m) {
  return ((a % m) + m) % m;
}

/** One Euro filter over an array of values, each with its own adaptive cut-off. */
export class OneEuro {
  // minCutoff and deadzone: a number, or a Float64Array with one entry per value.
  constructor(minCutoff, beta, dCutoff = 1.0) {
    this.minCutoff = minCutoff;
    this.beta = beta;
    this.dCutoff = dCutoff;
    this.value = null;
    this.speed = null;
  }

  reset() {
    this.value = null;
    this.speed = null;
  }

  /** Filtered `x` (Float64Array), `dt` s after the previous sample; speeds are divided by `scale`. */
  filter(x, dt, scale = 1.0, deadzone = 0.0) {
    if (this.value === null || dt <= 0.0) {
      this.value = Float64Array.from(x);
      this.speed = new Float64Array(x.length);
      return this.value;
    }
    const aD = alpha(this.dCutoff, dt);
    const knee = typeof deadzone === "number" ? deadzone !== 0 : deadzone.some((d) => d !== 0);
    const value = this.value, speeds = this.speed;
    for (let i = 0; i < x.length; i++) {
      const raw = (x[i] - value[i]) / dt;
      speeds[i] = speeds[i] + aD * (raw - speeds[i]);
      let speed = Math.abs(speeds[i]) / scale;
      if (knee) { // smooth knee: ~speed**3 / deadzone**2 below it, ~speed above
        const dz = typeof deadzone === "number" ? deadzone : deadzone[i];
        speed = speed ** 3 / (speed * speed + dz * dz + 1e-12);
      }
      const minCutoff = typeof this.minCutoff === "number" ? this.minCutoff : this.minCutoff[i];
      value[i] = value[i] + alpha(minCutoff + this.beta * speed, dt) * (x[i] - value[i]);
    }
    return value;
  }
}

/** Smooths one face's landmarks over time: rigid motion (where, turned how) and shape separately. */
export class FaceSmoother {
  constructor(options = SMOOTHING) {
    this.options = options;
    this.rigid = new OneEuro(options.minCutoff, options.beta, options.dCutoff);
    this.shape = new OneEuro(options.shapeMinCutoff, options.shapeBeta, options.dCutoff);
    this.reference = null; // centred anchor points of the first frame, [x0, y0, x1, y1, ...]
    this.radius = 1.0;
    this.angle = 0.0;
    this.shapeDeadzone = 0.0;
  }

  reset() {
    this.rigid.reset();
    this.shape.reset();
    this.reference = null;
  }

  /** Eyelids, lips and jaw move fast and often: smoothed lightly; the rest is held still. */
  splitFace(xyz, n) {
    const o = this.options;
    const dx = xyz[152 * 3] - xyz[10 * 3], dy = xyz[152 * 3 + 1] - xyz[10 * 3 + 1];
    const norm = Math.max(dx * dx + dy * dy, 1e-9);
    const lively = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const along = ((xyz[i * 3] - xyz[3]) * dx + (xyz[i * 3 + 1] - xyz[4]) * dy) / norm;
      lively[i] = along > 0.0 ? 1 : 0;
    }
    for (const i of LIVELY_LANDMARKS) if (i < n) lively[i] = 1;
    const minCutoff = new Float64Array(n * 3), deadzone = new Float64Array(n * 3);
    for (let i = 0; i < n * 3; i++) {
      const live = lively[Math.floor(i / 3)];
      minCutoff[i] = live ? o.livelyMinCutoff : o.shapeMinCutoff;
      deadzone[i] = live ? o.livelyDeadzone : o.shapeDeadzone;
    }
    this.shape.minCutoff = minCutoff;
    this.shapeDeadzone = deadzone;
  }

  /** Smoothed landmarks (Float32Array, n*3) for raw ones arriving `dt` s after the last. */
  // why: one straight pass of the Python function it mirrors (kept whole so the two read alike)
  smooth(landmarks, dt) {
    if (!this.options.enabled) return landmarks;
    const n = landmarks.length / 3;
    let cx = 0, cy = 0;
    for (const i of RIGID_ANCHORS) { cx += landmarks[i * 3]; cy += landmarks[i * 3 + 1]; }
    cx /= RIGID_ANCHORS.length; cy /= RIGID_ANCHORS.length;
    if (this.reference === null) {
      this.reference = new Float64Array(RIGID_ANCHORS.length * 2);
      let sum = 0;
      RIGID_ANCHORS.forEach((i, k) => {
        const rx = landmarks[i * 3] - cx, ry = landmarks[i * 3 + 1] - cy;
        this.reference[2 * k] = rx; this.reference[2 * k + 1] = ry;
        sum += rx * rx + ry * ry;
      });
      this.radius = Math.max(Math.sqrt(sum / RIGID_ANCHORS.length), 1.0);
      this.angle = 0.0;
      this.splitFace(landmarks, n);
    }
    // In-plane angle from the reference to now (2D Procrustes on the anchors, closed form).
    let cross = 0, dot = 0;
    RIGID_ANCHORS.forEach((i, k) => {
      const rx = this.reference[2 * k], ry = this.reference[2 * k + 1];
      const nx = landmarks[i * 3] - cx, ny = landmarks[i * 3 + 1] - cy;
      cross += rx * ny - ry * nx;
      dot += rx * nx + ry * ny;
    });
    let angle = Math.atan2(cross, dot);
    angle = this.angle + floorMod(angle - this.angle + Math.PI, 2 * Math.PI) - Math.PI; // no jump at +-pi
    this.angle = angle;
    // The shape in the face's own frame (rotation removed), depth relative to its mean.
    const c = Math.cos(angle), s = Math.sin(angle);
    let depthMean = 0;
    for (let i = 0; i < n; i++) depthMean += landmarks[i * 3 + 2];
    depthMean /= n;
    const shape = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const x = landmarks[i * 3] - cx, y = landmarks[i * 3 + 1] - cy;
      shape[i * 3] = x * c + y * s;
      shape[i * 3 + 1] = -x * s + y * c;
      shape[i * 3 + 2] = landmarks[i * 3 + 2] - depthMean;
    }
    const faceWidth = this.radius * 3.0; // the anchors' RMS radius is about a third of the face's width
    const rigid = this.rigid.filter(Float64Array.of(cx, cy, angle * this.radius, depthMean), dt, faceWidth,
      this.options.deadzone);
    const smoothShape = this.shape.filter(shape, dt, faceWidth, this.shapeDeadzone);
    const sa = rigid[2] / this.radius, sc = Math.cos(sa), ss = Math.sin(sa);
    const out = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const x = smoothShape[i * 3], y = smoothShape[i * 3 + 1];
      out[i * 3] = x * sc - y * ss + rigid[0];
      out[i * 3 + 1] = x * ss + y * sc + rigid[1];
      out[i * 3 + 2] = smoothShape[i * 3 + 2] + rigid[3];
    }
    return out;
  }
}

/** Bounding box [minX, minY, maxX, maxY] of the mesh (the iris points left out). */
function bounds(landmarks) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  const n = Math.min(MESH_VERTICES, landmarks.length / 3);
  for (let i = 0; i < n; i++) {
    const x = landmarks[i * 3], y = landmarks[i * 3 + 1];
    if (x < x0) x0 = x; if (x > x1) x1 = x;
    if (y < y0) y0 = y; if (y > y1) y1 = y;
  }
  return [x0, y0, x1, y1];
}

/** Whether a face is worth drawing: big enough, not collapsed, mostly inside the frame. */
export function plausible(landmarks, width, height, minFacePx) {
  const n = Math.min(MESH_VERTICES, landmarks.length / 3);
  for (let i = 0; i < n * 3; i++) {
    if ((i % 3) !== 2 && !Number.isFinite(landmarks[i])) return false;
  }
  const [x0, y0, x1, y1] = bounds(landmarks);
  const w = x1 - x0, h = y1 - y0;
  if (Math.max(w, h) < minFacePx) return false;
  if (Math.min(w, h) < 0.25 * Math.max(w, h)) return false; // a face is not a sliver
  const insideW = Math.max(0, Math.min(x1, width) - Math.max(x0, 0));
  const insideH = Math.max(0, Math.min(y1, height) - Math.max(y0, 0));
  return insideW * insideH >= 0.25 * w * h;
}

/** Faces without duplicates: of two whose boxes overlap more than `maxOverlap` (IoU), the larger is kept. */
export function distinct(faces, maxOverlap) {
  if (faces.length < 2) return faces;
  const boxes = faces.map((f) => bounds(f.landmarks));
  const areas = boxes.map(([x0, y0, x1, y1]) => (x1 - x0) * (y1 - y0));
  const order = faces.map((_, i) => i).sort((a, b) => areas[b] - areas[a]);
  const kept = [];
  for (const i of order) {
    const clash = kept.some((j) => {
      const w = Math.max(0, Math.min(boxes[i][2], boxes[j][2]) - Math.max(boxes[i][0], boxes[j][0]));
      const h = Math.max(0, Math.min(boxes[i][3], boxes[j][3]) - Math.max(boxes[i][1], boxes[j][1]));
      const inter = w * h;
      return inter / Math.max(areas[i] + areas[j] - inter, 1e-9) > maxOverlap;
    });
    if (!clash) kept.push(i);
  }
  return kept.sort((a, b) => a - b).map((i) => faces[i]);
}

function summary(landmarks) {
  const [x0, y0, x1, y1] = bounds(landmarks);
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, size: Math.hypot(x1 - x0, y1 - y0) };
}

/** [track index, detection index] pairs, cheapest first, each used once (greedy, as stabilize.match). */
export function match(tracks, detections, maxCost) {
  if (!tracks.length || !detections.length) return [];
  const a = tracks.map(summary), b = detections.map(summary);
  const costs = [];
  a.forEach((ta, t) => b.forEach((db, d) => {
    const cost = Math.hypot(ta.cx - db.cx, ta.cy - db.cy) / Math.max(ta.size, db.size, 1.0)
      + Math.abs(Math.log(Math.max(ta.size, 1.0) / Math.max(db.size, 1.0)));
    costs.push({ cost, t, d });
  }));
  costs.sort((p, q) => p.cost - q.cost); // stable, like numpy's kind="stable"
  const pairs = [], usedT = new Set(), usedD = new Set();
  for (const { cost, t, d } of costs) {
    if (cost > maxCost) break;
    if (!usedT.has(t) && !usedD.has(d)) {
      pairs.push([t, d]);
      usedT.add(t);
      usedD.add(d);
    }
  }
  return pairs;
}

/** Call with each frame's time, size and raw faces; returns the faces to draw, each with a lasting id. */
export class FaceStabilizer {
  constructor(options = STABILIZER, smoothing = SMOOTHING) {
    this.options = options;
    this.smoothing = smoothing;
    this.tracks = [];
    this.nextId = 0;
    this.lastTime = null;
    this.frameSize = null;
    this.interval = null; // the device's frame interval, followed (seconds)
  }

  reset() {
    this.tracks = [];
    this.lastTime = null;
    this.interval = null;
  }

  /** How long a missed face is held (seconds): `hold`, or `holdFrames` frame intervals if longer. */
  get hold() {
    const o = this.options;
    return this.interval === null ? o.hold : Math.max(o.hold, o.holdFrames * this.interval);
  }

  /** `now` in seconds; `faces`: [{landmarks: Float32Array}] in pixels. -> [{id, landmarks, opacity}] */
  // why: one pass of stabilize.FaceStabilizer.__call__, kept in the same order to be read side by side
  update(now, width, height, faces) {
    const o = this.options;
    if (this.frameSize !== null && (this.frameSize[0] !== width || this.frameSize[1] !== height)) {
      this.reset(); // positions in another frame size cannot be compared
    }
    this.frameSize = [width, height];
    if (this.lastTime !== null && now < this.lastTime) this.reset(); // the clock went back
    const firstFrame = this.lastTime === null;
    let dt = firstFrame ? 0.0 : now - this.lastTime;
    if (dt > o.maxGap) { // the camera paused: snap to where the faces are now
      for (const track of this.tracks) track.smoother.reset();
      dt = 0.0;
    } else if (dt > 0.0) { // a longer interval at once (the device slowed down), a shorter one over a few frames
      const slower = this.interval === null || dt > this.interval;
      this.interval = slower ? dt : this.interval + INTERVAL_LEARN * (dt - this.interval);
    }
    const previous = this.lastTime;
    this.lastTime = now;
    const detections = distinct(faces.filter((f) => plausible(f.landmarks, width, height, o.minFacePx)),
      o.maxOverlap);
    const alive = this.tracks.filter((t) => now - t.lastSeen <= o.forget);
    const pairs = match(alive.map((t) => t.landmarks), detections.map((d) => d.landmarks), o.maxMatchCost);
    const matched = new Set(pairs.map(([, d]) => d));
    for (const [ti, di] of pairs) {
      const track = alive[ti];
      const gone = now - track.lastSeen;
      // Faded out: gone from the frame before this one (a face seen in every frame of a slow phone, a
      // frame every 300 ms, or missed in one of them, was never off screen: it must not fade in again).
      const faded = previous !== null && previous - track.lastSeen > this.hold + o.fade;
      if (faded) { // snap, and fade in again
        track.smoother.reset();
        track.reappearedAt = now;
      }
      track.landmarks = track.smoother.smooth(detections[di].landmarks, dt > 0 ? gone : 0.0);
      track.lastSeen = now;
    }
    detections.forEach((detection, di) => {
      if (matched.has(di)) return;
      const smoother = new FaceSmoother(this.smoothing);
      const landmarks = smoother.smooth(detection.landmarks, 0.0);
      // Faces in the first frame are shown at once: nothing was on screen before them.
      const appeared = firstFrame ? now - o.fade : now;
      alive.push({ id: this.nextId++, smoother, landmarks, lastSeen: now, reappearedAt: appeared });
    });
    this.tracks = alive;
    return [...this.tracks].sort((p, q) => p.id - q.id)
      .map((t) => ({ id: t.id, landmarks: t.landmarks, opacity: this.opacity(t, now) }))
      .filter((f) => f.opacity > 0.0);
  }

  /** Fade in after (re)appearing; hold, then fade out, after being lost. */
  opacity(track, now) {
    const o = this.options;
    const fadeIn = o.fade <= 0 ? 1.0 : Math.min(1.0, 0.25 + (now - track.reappearedAt) / o.fade);
    const lostFor = now - track.lastSeen;
    const hold = this.hold;
    const fadeOut = lostFor <= hold ? 1.0 : Math.max(0.0, 1.0 - (lostFor - hold) / Math.max(o.fade, 1e-6));
    return Math.min(fadeIn, fadeOut);
  }
}
