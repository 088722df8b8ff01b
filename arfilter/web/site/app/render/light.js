// The light on each face from its own shading: a port of arfilter/render/lighting.py (SH1 least
// squares, refit every few calls, smoothed). The samples (mean luma around each probe vertex) are
// read on the GPU by the renderer; this file is the small CPU part, the fit.

export const REFIT_EVERY = 3;
export const SMOOTHING = 0.35;
export const FORGET_AFTER = 300;
export const MIN_FACING = 0.25;
export const MIN_VERTICES = 24;
export const TRIM = 0.8;

/** Solve the 4x4 normal equations of `rows` (each [1, nx, ny, nz]) against `values`. */
function solve(rows, values) {
  const gram = Array.from({ length: 4 }, () => new Float64Array(5));
  rows.forEach((row, k) => {
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) gram[i][j] += row[i] * row[j];
      gram[i][4] += row[i] * values[k];
    }
  });
  for (let i = 0; i < 4; i++) gram[i][i] += 1e-9;
  for (let col = 0; col < 4; col++) { // Gauss-Jordan with partial pivoting
    let pivot = col;
    for (let r = col + 1; r < 4; r++) if (Math.abs(gram[r][col]) > Math.abs(gram[pivot][col])) pivot = r;
    [gram[col], gram[pivot]] = [gram[pivot], gram[col]];
    for (let r = 0; r < 4; r++) {
      if (r === col) continue;
      const f = gram[r][col] / gram[col][col];
      for (let c = col; c < 5; c++) gram[r][c] -= f * gram[col][c];
    }
  }
  return [0, 1, 2, 3].map((i) => gram[i][4] / gram[i][i]);
}

const predict = (c, row) => c[0] + c[1] * row[1] + c[2] * row[2] + c[3] * row[3];

/** (a, bx, by, bz) with luma ~ a + b.n, robust to shadowed and odd vertices; null if unfit (fit_light). */
export function fitLight(normals, luma) {
  if (luma.length < MIN_VERTICES) return null;
  const rows = normals.map((n) => [1, n[0], n[1], n[2]]);
  let coefficients = solve(rows, luma);
  for (let pass = 0; pass < 2; pass++) {
    const strength = Math.hypot(coefficients[1], coefficients[2], coefficients[3]);
    const lit = [];
    rows.forEach((row, k) => {
      const along = strength > 1e-6
        ? (row[1] * coefficients[1] + row[2] * coefficients[2] + row[3] * coefficients[3]) / strength : 0;
      if (strength <= 1e-6 || along > -0.1) lit.push(k);
    });
    if (lit.length < MIN_VERTICES) break;
    const keep = Math.floor(TRIM * lit.length);
    const residual = lit.map((k) => [Math.abs(predict(coefficients, rows[k]) - luma[k]), k]);
    residual.sort((p, q) => p[0] - q[0]);
    const kept = residual.slice(0, keep).map((p) => p[1]);
    coefficients = solve(kept.map((k) => rows[k]), kept.map((k) => luma[k]));
  }
  return coefficients;
}

/** {direction, ambient, directional} of SH coefficients (as_light). */
export function asLight(c) {
  const ambient = Math.max(c[0], 0);
  const strength = Math.hypot(c[1], c[2], c[3]);
  if (strength < 1e-6) return { direction: [0, 0, 1], ambient, directional: 0 };
  return { direction: [c[1] / strength, c[2] / strength, c[3] / strength], ambient,
    directional: strength / (ambient + strength) };
}

/** Per face: the light on it, refitted every REFIT_EVERY calls and smoothed (LightEstimator). */
export class LightEstimator {
  constructor() {
    this.faces = new Map();
    this.calls = 0;
  }

  /** Whether the next call for this face fits (so the renderer reads the probe samples only then). */
  wantsSamples(faceId) {
    const state = this.faces.get(faceId);
    return state === undefined || state.calls % REFIT_EVERY === 0;
  }

  /** One unsmoothed fit: `samples` = [{luma, normal}] of the probe vertices inside the frame. */
  static fit(samples) {
    const usable = samples.filter((s) => s.normal[2] >= MIN_FACING);
    return fitLight(usable.map((s) => s.normal), usable.map((s) => s.luma));
  }

  /** The smoothed light on face `faceId`; `samples()` is called only when a fit is due. Null until fitted once. */
  light(faceId, samples) {
    this.calls += 1;
    let state = this.faces.get(faceId);
    if (state === undefined || state.calls % REFIT_EVERY === 0) {
      const fitted = LightEstimator.fit(samples());
      if (fitted !== null) {
        if (state === undefined) {
          state = { coefficients: fitted, calls: 0, lastSeen: this.calls };
          this.faces.set(faceId, state);
        } else {
          state.coefficients = state.coefficients.map((c, i) => c + SMOOTHING * (fitted[i] - c));
        }
      }
    }
    for (const [id, other] of this.faces) if (this.calls - other.lastSeen > FORGET_AFTER) this.faces.delete(id);
    if (state === undefined) return null;
    state.calls += 1;
    state.lastSeen = this.calls;
    return asLight(state.coefficients);
  }
}
