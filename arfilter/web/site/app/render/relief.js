// relief's per-face constants (shaders/relief.py): the 3x3 slope kernel along the light's share
// across the screen, and the gain's bounds. The per-pixel part is in blends.js.
import { roundHalfEven } from "./face.js";

export const HEIGHT_TEXELS = 24.0;
export const MIN_ACROSS = 0.25;
export const GAIN_ONE = 128.0;
const SOBEL_X = [-1, 0, 1, -2, 0, 2, -1, 0, 1].map((v) => v / 8);
const SOBEL_Y = [-1, -2, -1, 0, 0, 0, 1, 2, 1].map((v) => v / 8);

/** directional * light_xy, at least MIN_ACROSS long: what is missing comes from above (-y). */
export function acrossScreen(light) {
  const x = light.directional * light.direction[0];
  const y = light.directional * light.direction[1];
  const missing = MIN_ACROSS - Math.hypot(x, y);
  return missing > 0 ? [x, y - missing] : [x, y];
}

/** Uniforms of the relief blend for this light, strength and face size. */
export function reliefUniforms(light, strength, texelPx) {
  const [lx, ly] = acrossScreen(light);
  const amplitude = strength * (HEIGHT_TEXELS * texelPx / 255) * GAIN_ONE;
  const kernel = Float32Array.from(SOBEL_X, (sx, i) => -(lx * sx + ly * SOBEL_Y[i]) * amplitude);
  const share = Math.max(light.directional, Math.hypot(lx, ly));
  return { u_kernel: kernel, u_low: roundHalfEven(GAIN_ONE * (1 - share)),
    u_high: Math.min(roundHalfEven(GAIN_ONE * (1 + share)), 255) };
}
