// Where the renderer samples the frame for each face, and what it makes of the sums the GPU reads
// there: the skin's brightness (renderer.face_skin_luma: 7 patches of 5x5 on cheeks and forehead)
// and the light probe's samples (lighting.sample_luma: 3x3 around each skin vertex, spaced by a
// 150th of the face's width).
import { roundHalfEven } from "./face.js";

/** Sample centres of both groups, in one buffer: the skin patches first, then the light probe. */
export function probeCentres(landmarks, mesh, faceWidthPx) {
  const skin = mesh.skin_sample_landmarks;
  const light = mesh.light_vertices;
  const spacing = Math.max(1, roundHalfEven(faceWidthPx / 150));
  const points = new Float32Array((skin.length + light.length) * 2);
  [...skin, ...light].forEach((v, i) => {
    points[2 * i] = roundHalfEven(landmarks[3 * v]);
    points[2 * i + 1] = roundHalfEven(landmarks[3 * v + 1]);
  });
  return {
    points, spacing, skin, light,
    groups: [{ first: 0, count: skin.length, radius: 2, spacing: 1 },
      { first: skin.length, count: light.length, radius: 1, spacing }],
  };
}

function inside(points, i, margin, [width, height]) {
  const x = points[2 * i], y = points[2 * i + 1];
  return x >= margin && x < width - margin && y >= margin && y < height - margin;
}

/** Brightness (0-1, rounded to 0.01 as bruise rounds it) of the face's skin; 0.5 if no patch is in the frame. */
export function faceSkinLuma(sums, centres, size) {
  const total = [0, 0, 0];
  let count = 0;
  centres.skin.forEach((_, i) => {
    if (!inside(centres.points, i, 2, size)) return;
    for (let c = 0; c < 3; c++) total[c] += sums[4 * i + c];
    count += 1;
  });
  if (count === 0) return 0.5;
  const [r, g, b] = total.map((value) => value / (25 * count));
  return Math.round(((0.114 * b + 0.587 * g + 0.299 * r) / 255) * 100) / 100;
}

/** [{luma, normal}] of the light probe's vertices inside the frame. */
export function lightSamples(sums, centres, normals, size) {
  const samples = [];
  const offset = centres.skin.length;
  centres.light.forEach((v, k) => {
    const i = offset + k;
    if (!inside(centres.points, i, centres.spacing, size)) return;
    const luma = (0.114 * sums[4 * i + 2] + 0.587 * sums[4 * i + 1] + 0.299 * sums[4 * i]) / (9 * 255);
    samples.push({ luma, normal: [normals[3 * v], normals[3 * v + 1], normals[3 * v + 2]] });
  });
  return samples;
}
