// The blend programs of shaders/*.py in GLSL, one per arfilter shader. Each defines
//   vec3 blend(vec3 base, vec3 C, float a, ivec2 px, ivec2 local)
// on 0-255 values: base = the picture after the previous layers, C = the warped layer's premultiplied
// colour, a = its alpha (coverage x opacity already in); px the frame pixel, local the region's.
// The frame (program) around them reads those values and writes the result.
import { PRELUDE } from "./shaders.js";

const FRAME_HEAD = `
uniform sampler2D u_base;    // the picture so far (frame-sized)
uniform sampler2D u_warp;    // this layer, warped (region-sized)
uniform sampler2D u_fine;    // the map: z = coverage (region-sized)
uniform ivec2 u_origin;      // the region's top-left pixel
uniform ivec2 u_roi;         // the region's size
out vec4 o;
vec3 baseAt(ivec2 local) { return floor(texelFetch(u_base, u_origin + local, 0).rgb * 255.0 + 0.5); }
float alphaAt(ivec2 local) { return floor(texelFetch(u_warp, local, 0).a * 255.0 + 0.5); }
float coverageAt(ivec2 local) { return floor(texelFetch(u_fine, local, 0).z * 255.0 + 0.5); }
`;

const FRAME_MAIN = `
vec3 blend(vec3 base, vec3 C, float a, ivec2 px, ivec2 local);
void main() {
  ivec2 px = ivec2(gl_FragCoord.xy);
  ivec2 local = px - u_origin;
  vec3 base = baseAt(local);
  vec4 layer = floor(texelFetch(u_warp, local, 0) * 255.0 + 0.5);
  o = vec4(blend(base, layer.rgb, layer.a, px, local) / 255.0, 1.0);
}
`;

const SIMPLE = {
  // Porter-Duff over with a premultiplied layer.
  normal: `vec3 blend(vec3 base, vec3 C, float a, ivec2 px, ivec2 local) {
    return min(u8(base * (255.0 - a) / 255.0) + C, 255.0); }`,
  // base * (1 - a + C): pigment under the skin.
  multiply: `vec3 blend(vec3 base, vec3 C, float a, ivec2 px, ivec2 local) {
    return u8(base * min(255.0 - a + C, 255.0) / 255.0); }`,
  screen: `vec3 blend(vec3 base, vec3 C, float a, ivec2 px, ivec2 local) {
    return min(base + u8(C * (255.0 - base) / 255.0), 255.0); }`,
  overlay: `vec3 blend(vec3 base, vec3 C, float a, ivec2 px, ivec2 local) {
    if (a == 0.0) return base;
    vec3 b = base / 255.0, c = C / 255.0; float A = a / 255.0;
    vec3 mixed = mix(A - 2.0 * (1.0 - b) * (A - c), 2.0 * b * c, lessThan(b, vec3(0.5)));
    return u8((b * (1.0 - A) + mixed) * 255.0); }`,
  soft_light: `vec3 blend(vec3 base, vec3 C, float a, ivec2 px, ivec2 local) {
    if (a == 0.0) return base;
    vec3 b = base / 255.0, c = C / 255.0; float A = a / 255.0;
    return u8((b * (1.0 - A) + (A - 2.0 * c) * b * b + 2.0 * c * b) * 255.0); }`,
};

// shaders/bruise.py: Beer-Lambert transmittance by age and skin tone, highlights spared.
const BRUISE = `
uniform float u_skin;        // the face's skin brightness, rounded to 0.01 (renderer.face_skin_luma)
uniform float u_age;
uniform float u_spread;
uniform float u_intensity;
const float DAYS[6] = float[6](0.0, 1.0, 3.0, 6.0, 9.0, 14.0);
const vec3 ABSORBANCE[6] = vec3[6](vec3(0.10, 0.30, 0.22), vec3(0.19, 0.36, 0.24), vec3(0.30, 0.34, 0.18),
                                   vec3(0.26, 0.15, 0.30), vec3(0.11, 0.12, 0.28), vec3(0.03, 0.04, 0.10));
vec3 absorbance(float age) {
  age = clamp(age, 0.0, 14.0);
  for (int i = 0; i < 5; i++) {
    if (age <= DAYS[i + 1]) return mix(ABSORBANCE[i], ABSORBANCE[i + 1], (age - DAYS[i]) / (DAYS[i + 1] - DAYS[i]));
  }
  return ABSORBANCE[5];
}
vec3 adaptToSkin(vec3 absorb) {       // darker skin: less hue, more darkening
  float melanin = clamp((0.60 - u_skin) / 0.35, 0.0, 1.0);
  float neutral = (absorb.r + absorb.g + absorb.b) / 3.0;
  return ((1.0 - 0.6 * melanin) * absorb + 0.6 * melanin * vec3(neutral)) * (1.0 + 0.35 * melanin);
}
vec3 transmittance(float a8, float age) {   // bruise.transmittance_table, one entry
  float a = a8 / 255.0;
  vec3 core = adaptToSkin(absorbance(age));
  vec3 rim = adaptToSkin(absorbance(age * 1.6 + 0.5));
  float rimness = 1.0 - min(a / 0.75, 1.0);
  rimness *= rimness;
  return floor(exp(-(u_intensity * 2.302585092994046) * a * (core + (rim - core) * rimness)) * 255.0 + 0.5);
}
float blurredGray(ivec2 local) {   // cv2.blur(gray, (9, 9)) over the region, reflected at its edges
  float sum = 0.0;
  for (int dy = -4; dy <= 4; dy++) for (int dx = -4; dx <= 4; dx++) {
    sum += gray(baseAt(ivec2(reflect101(local.x + dx, u_roi.x), reflect101(local.y + dy, u_roi.y))));
  }
  return floor(sum / 81.0 + 0.5);
}
vec3 blend(vec3 base, vec3 C, float a, ivec2 px, ivec2 local) {
  if (a == 0.0) return base;
  float age = u_age;
  if (u_spread > 0.0) {   // the texel's own age: green / alpha of the premultiplied colour
    float step = min(floor(C.g * 15.0 / a + 0.5), 15.0);
    age = min(u_age + u_spread * step / 15.0, 14.0);
  }
  vec3 out8 = u8(base * transmittance(a, age) / 255.0);
  float shineFrom = min(1.3 * u_skin, 0.9);
  float spared = floor(clamp((blurredGray(local) / 255.0 - shineFrom) * 12.0, 0.0, 0.85) * 255.0 + 0.5);
  return min(out8 + u8((base - out8) * spared / 255.0), 255.0);
}`;

// shaders/paint.py: the layer's colour shaded by the skin's brightness against its mean under the layer.
const PAINT = `
uniform sampler2D u_sums;    // 1x1: (sum of grey x alpha, sum of alpha) over the region, every 3rd pixel
uniform float u_shading;
vec3 blend(vec3 base, vec3 C, float a, ivec2 px, ivec2 local) {
  vec2 sums = texelFetch(u_sums, ivec2(0), 0).xy;
  float skin = sums.y > 0.0 ? sums.x / (255.0 * sums.y) : 0.5;
  skin = floor(max(skin, 0.02) * 1000.0 + 0.5) / 1000.0;
  float shade = 1.0 - u_shading + u_shading * min(gray(base) / 255.0 / skin, 1.6);
  float code = floor(clamp(shade / 1.6, 0.0, 1.0) * 255.0 + 0.5);
  vec3 lit = u8(C * code * 1.6 / 255.0);
  return min(u8(base * (255.0 - a) / 255.0) + lit, 255.0);
}`;

// shaders/relief.py: alpha is a height; its screen slope along the light shades the skin.
const RELIEF = `
uniform float u_kernel[9];   // gain-code offset per unit of height, rows dy = -1..1, columns dx = -1..1
uniform float u_low;
uniform float u_high;
float heightAt(ivec2 q) {    // alpha / coverage (cv2.divide), edges replicated
  q = clamp(q, ivec2(0), u_roi - 1);
  float c = coverageAt(q);
  return c > 0.0 ? min(floor(alphaAt(q) * 255.0 / c + 0.5), 255.0) : 0.0;
}
vec3 blend(vec3 base, vec3 C, float a, ivec2 px, ivec2 local) {
  if (a == 0.0) return base;
  float sum = 128.0;
  float eroded = 255.0;
  for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) {
    ivec2 q = local + ivec2(dx, dy);
    sum += u_kernel[(dy + 1) * 3 + dx + 1] * heightAt(q);
    eroded = min(eroded, coverageAt(clamp(q, ivec2(0), u_roi - 1)));
  }
  float gain = u8(sum);
  gain = min(u8(gain * eroded / 255.0) + (128.0 - u8(eroded * 128.0 / 255.0)), 255.0);
  gain = clamp(gain, u_low, u_high);
  return u8(base * gain / 128.0);
}`;

/** Fragment source of the blend program for arfilter shader `name`. */
export function blendSource(name) {
  const body = { bruise: BRUISE, paint: PAINT, relief: RELIEF }[name] ?? SIMPLE[name];
  if (body === undefined) throw new Error(`unknown shader ${name}`);
  return `${PRELUDE}${FRAME_HEAD}${FRAME_MAIN}${body}`;
}

// paint's mean skin under the layer (shaders/_skin.skin_luma): every 3rd pixel of the region,
// summed in 8x8 blocks of those, then the blocks summed into one pixel; no read back to the CPU.
export const SUM_BLOCKS_FRAGMENT = `${PRELUDE}${FRAME_HEAD}
void main() {
  ivec2 block = ivec2(gl_FragCoord.xy);
  vec2 sum = vec2(0.0);
  for (int v = 0; v < 8; v++) for (int u = 0; u < 8; u++) {
    ivec2 local = 3 * (8 * block + ivec2(u, v));
    if (local.x >= u_roi.x || local.y >= u_roi.y) continue;
    float a = alphaAt(local);
    sum += vec2(gray(baseAt(local)) * a, a);
  }
  o = vec4(sum, 0.0, 0.0);
}`;

export const SUM_ALL_FRAGMENT = `${PRELUDE}
uniform sampler2D u_blocks;
uniform ivec2 u_count;
out vec4 o;
void main() {
  vec2 sum = vec2(0.0);
  for (int y = 0; y < u_count.y; y++) for (int x = 0; x < u_count.x; x++) sum += texelFetch(u_blocks, ivec2(x, y), 0).xy;
  o = vec4(sum, 0.0, 0.0);
}`;
