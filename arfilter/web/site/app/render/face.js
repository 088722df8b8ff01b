// Per face and frame, the CPU side of arfilter/render (warp.py, unwrap.py, renderer.py): which
// triangles face the camera and in what order, where the look lands, which mip level and raster
// step. Same formulas as the Python renderer, so the page draws the same triangles.

export const MESH_VERTICES = 468;

/** Python's round (half to even), where a .5 decides an integer the renderer uses. */
export function roundHalfEven(value) {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Indices into `triangles` (flat, 3 per triangle) that face the camera, far to near (warp.visible_triangles). */
export function visibleTriangles(landmarks, triangles, frontSign, minArea = 1e-3) {
  const kept = [];
  const depth = [];
  for (let t = 0; t < triangles.length / 3; t++) {
    const a = triangles[3 * t] * 3, b = triangles[3 * t + 1] * 3, c = triangles[3 * t + 2] * 3;
    const e1x = landmarks[b] - landmarks[a], e1y = landmarks[b + 1] - landmarks[a + 1];
    const e2x = landmarks[c] - landmarks[a], e2y = landmarks[c + 1] - landmarks[a + 1];
    if ((e1x * e2y - e1y * e2x) * frontSign > minArea) {
      kept.push(t);
      depth.push((landmarks[a + 2] + landmarks[b + 2] + landmarks[c + 2]) / 3);
    }
  }
  const order = kept.map((_, i) => i);
  order.sort((i, j) => depth[j] - depth[i]); // stable: equal depths keep their mesh order, as numpy's
  return order.map((i) => kept[i]);
}

/** The pixel rectangle the look's visible triangles cover, clipped to the frame (warp.triangles_roi). */
export function lookRoi(landmarks, triangles, visible, touched, width, height, margin = 2) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const t of visible) {
    if (!touched.has(t)) continue;
    for (let k = 0; k < 3; k++) {
      const v = triangles[3 * t + k] * 3;
      x0 = Math.min(x0, landmarks[v]); x1 = Math.max(x1, landmarks[v]);
      y0 = Math.min(y0, landmarks[v + 1]); y1 = Math.max(y1, landmarks[v + 1]);
    }
  }
  if (x0 === Infinity) return { x: 0, y: 0, width: 0, height: 0 };
  const left = Math.max(Math.floor(x0) - margin, 0), top = Math.max(Math.floor(y0) - margin, 0);
  const right = Math.min(Math.ceil(x1) + margin + 1, width), bottom = Math.min(Math.ceil(y1) + margin + 1, height);
  return { x: left, y: top, width: Math.max(right - left, 0), height: Math.max(bottom - top, 0) };
}

/** Width of the face on screen in pixels (the extent of its mesh vertices along x). */
export function faceWidth(landmarks) {
  let low = Infinity, high = -Infinity;
  for (let v = 0; v < MESH_VERTICES; v++) {
    low = Math.min(low, landmarks[3 * v]);
    high = Math.max(high, landmarks[3 * v]);
  }
  return high - low;
}

/** The mip level whose texels are about one screen pixel on this face (Renderer._level_for). */
export function levelFor(screenWidth, faceTexels, levels) {
  if (screenWidth < 1) return 0;
  const ratio = faceTexels / screenWidth;
  const level = ratio > 1 ? Math.floor(Math.log2(ratio)) : 0;
  return Math.min(Math.max(level, 0), levels - 1);
}

/** How coarse the texture map may be rasterised for a face this wide (warp.raster_step). */
export function rasterStep(faceWidthPx, targetPx = 180, maxStep = 4) {
  return Math.min(Math.max(roundHalfEven(faceWidthPx / targetPx), 1), maxStep);
}

/** (468, 3) unit vertex normals, z towards the camera (unwrap.vertex_normals), flat Float32Array. */
export function vertexNormals(landmarks, triangles, frontSign) {
  const summed = new Float64Array(MESH_VERTICES * 3);
  for (let t = 0; t < triangles.length; t += 3) {
    const a = triangles[t] * 3, b = triangles[t + 1] * 3, c = triangles[t + 2] * 3;
    const e1 = [landmarks[b] - landmarks[a], landmarks[b + 1] - landmarks[a + 1], landmarks[b + 2] - landmarks[a + 2]];
    const e2 = [landmarks[c] - landmarks[a], landmarks[c + 1] - landmarks[a + 1], landmarks[c + 2] - landmarks[a + 2]];
    const n = [(-e1[1] * e2[2] + e1[2] * e2[1]) * frontSign, (-e1[2] * e2[0] + e1[0] * e2[2]) * frontSign,
      (e1[0] * e2[1] - e1[1] * e2[0]) * frontSign];
    for (const v of [a, b, c]) {
      summed[v] += n[0]; summed[v + 1] += n[1]; summed[v + 2] += n[2];
    }
  }
  const normals = new Float32Array(MESH_VERTICES * 3);
  for (let v = 0; v < MESH_VERTICES * 3; v += 3) {
    const length = Math.hypot(summed[v], summed[v + 1], summed[v + 2]) || 1;
    normals[v] = summed[v] / length; normals[v + 1] = summed[v + 1] / length; normals[v + 2] = summed[v + 2] / length;
  }
  return normals;
}
