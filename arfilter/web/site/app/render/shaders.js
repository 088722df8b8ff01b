// GLSL of the renderer's passes: the mesh map, coverage, warp, the probes, the copy to the canvas.
// The blend programs (one per arfilter shader) are in blends.js. Values are kept in 0-255 units and
// rounded where the Python renderer stores uint8, so both round at the same steps.
//
// Coordinates: every target is stored with image row y at texture row y (the frame is uploaded
// unflipped), so gl_FragCoord.xy - 0.5 is the image pixel and only the copy to the canvas flips.

export const PRELUDE = `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
const float OUTSIDE = -1e4;              // warp.OUTSIDE: "no surface here"
float u8(float v) { return clamp(floor(v + 0.5), 0.0, 255.0); }   // saturate_cast<uchar>
vec3 u8(vec3 v) { return clamp(floor(v + 0.5), 0.0, 255.0); }
vec4 u8(vec4 v) { return clamp(floor(v + 0.5), 0.0, 255.0); }
// OpenCV's fixed-point BGR2GRAY (Rec. 601), on 0-255 values.
float gray(vec3 rgb) { return floor((rgb.r * 4899.0 + rgb.g * 9617.0 + rgb.b * 1868.0 + 8192.0) / 16384.0); }
int reflect101(int i, int n) { if (n == 1) return 0; if (i < 0) i = -i; if (i >= n) i = 2 * n - 2 - i; return i; }
`;

// The mesh rasterised into the look's map (warp.rasterize_map): per pixel of the (possibly coarse)
// grid, the texel of the chosen mip level it shows and the surface's facing. Positions are
// landmarks + 0.5: Python's pixel i is centred at i, GL's at i + 0.5.
export const MESH_VERTEX = `#version 300 es
precision highp float;
layout(location = 0) in vec2 a_point;
layout(location = 1) in vec2 a_uv;
layout(location = 2) in float a_facing;
uniform vec2 u_origin;    // the region's top-left pixel
uniform float u_step;     // raster step (1: every pixel)
uniform vec2 u_grid;      // grid size in its own pixels
uniform float u_size;     // texture side at level 0
uniform float u_level_scale;  // 2 ** level
out vec2 v_texel;
out float v_facing;
void main() {
  vec2 p = (a_point - u_origin + 0.5) / u_step;
  gl_Position = vec4(p / u_grid * 2.0 - 1.0, 0.0, 1.0);
  v_texel = (a_uv * u_size - 0.5) / u_level_scale;   // mesh.uv_to_texel
  v_facing = a_facing;
}`;

export const MESH_FRAGMENT = `${PRELUDE}
in vec2 v_texel;
in float v_facing;
out vec4 o;
void main() { o = vec4(v_texel, v_facing, 1.0); }`;

// On the grid: the coverage (255 inside, 3x3 Gaussian at the outline); on a coarse grid, uncovered
// samples next to covered ones take their neighbours' texel (warp.sample_map's dilate) so the
// upsampling does not blend towards OUTSIDE.
export const PREP_FRAGMENT = `${PRELUDE}
uniform sampler2D u_mesh;
uniform ivec2 u_size;
uniform float u_dilate;
out vec4 o;
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  vec4 here = texelFetch(u_mesh, p, 0);
  float covered = 0.0;
  for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) {
    ivec2 q = ivec2(reflect101(p.x + dx, u_size.x), reflect101(p.y + dy, u_size.y));
    covered += float((2 - abs(dx)) * (2 - abs(dy))) * texelFetch(u_mesh, q, 0).w;
  }
  float coverage = floor(covered * 255.0 / 16.0 + 0.5);
  vec2 texel = here.w > 0.5 ? here.xy : vec2(OUTSIDE);
  if (here.w < 0.5 && u_dilate > 0.5) {
    for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) {
      ivec2 q = p + ivec2(dx, dy);
      if (any(lessThan(q, ivec2(0))) || any(greaterThanEqual(q, u_size))) continue;
      vec4 n = texelFetch(u_mesh, q, 0);
      if (n.w > 0.5) texel = max(texel, n.xy);
    }
  }
  o = vec4(texel, 0.0, coverage / 255.0);
}`;

// The grazing fade per texel of the look's UV box (unwrap.UvGrid.view + renderer.grazing_fade): the
// visible touched triangles drawn in UV space, TEXELS_PER_UV texels per unit, each texel the fade of
// its interpolated facing; 0 where no visible triangle is or the point is off the frame.
export const UV_VERTEX = `#version 300 es
precision highp float;
layout(location = 0) in vec2 a_point;
layout(location = 1) in vec2 a_uv;
layout(location = 2) in float a_facing;
uniform vec4 u_box;         // x, y, width, height in grid texels
uniform float u_texels;     // TEXELS_PER_UV
out vec2 v_screen;
out float v_facing;
void main() {
  vec2 p = a_uv * u_texels - u_box.xy;   // grid texel i is centred at i (Python) = i + 0.5 (GL)
  gl_Position = vec4(p / u_box.zw * 2.0 - 1.0, 0.0, 1.0);
  v_screen = a_point;
  v_facing = a_facing;
}`;

export const UV_FRAGMENT = `${PRELUDE}
uniform vec2 u_frame;
uniform vec2 u_fade;        // renderer.FADE_FACING
in vec2 v_screen;
in float v_facing;
out vec4 o;
void main() {
  bool inside = all(greaterThanEqual(v_screen, vec2(0.0))) && all(lessThanEqual(v_screen, u_frame - 1.0));
  float f = clamp(floor(clamp(v_facing, 0.0, 1.0) * 255.0 + 0.5), 0.0, 255.0) / 255.0;
  float t = clamp((f - u_fade.x) / (u_fade.y - u_fade.x), 0.0, 1.0);
  o = vec4(inside ? floor(t * t * (3.0 - 2.0 * t) * 255.0 + 0.5) : 0.0, 0.0, 0.0, 1.0);
}`;

// Per grid sample: the fade read from the UV grid where the map points (unwrap.to_screen). On a coarse
// grid the Python renderer reads it where the full-size map points at pixel j * step; so does this.
export const WEIGHT_FRAGMENT = `${PRELUDE}
uniform sampler2D u_prep;
uniform sampler2D u_uv;
uniform ivec2 u_grid;
uniform float u_step;
uniform float u_level_scale;
uniform float u_size;
uniform vec4 u_box;
uniform float u_texels;
out vec4 o;
vec4 at(ivec2 q) { return texelFetch(u_prep, clamp(q, ivec2(0), u_grid - 1), 0); }
float fadeAt(ivec2 q) {
  if (any(lessThan(q, ivec2(0))) || any(greaterThanEqual(q, ivec2(u_box.zw)))) return 0.0;
  return texelFetch(u_uv, q, 0).x;
}
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  vec2 s = (vec2(p) * u_step + 0.5) / u_step - 0.5;
  vec2 f = floor(s);
  vec2 t = s - f;
  ivec2 i = ivec2(f);
  vec2 texel = mix(mix(at(i).xy, at(i + ivec2(1, 0)).xy, t.x), mix(at(i + ivec2(0, 1)).xy, at(i + ivec2(1, 1)).xy, t.x), t.y);
  vec2 g = (texel * u_level_scale + 0.5) * (u_texels / u_size) - 0.5 - u_box.xy;
  float weight = 0.0;
  if (g.x > -2.0 && g.y > -2.0) {
    vec2 q = floor(g * 32.0 + 0.5);
    vec2 whole = floor(q / 32.0);
    vec2 w = (q - whole * 32.0) / 32.0;
    ivec2 k = ivec2(whole);
    weight = u8(mix(mix(fadeAt(k), fadeAt(k + ivec2(1, 0)), w.x), mix(fadeAt(k + ivec2(0, 1)), fadeAt(k + ivec2(1, 1)), w.x), w.y));
  }
  vec4 own = texelFetch(u_prep, p, 0);
  o = vec4(own.xy, weight / 255.0, own.w);
}`;

// Per pixel of the region: the grid upsampled (cv2.resize's alignment: coarse sample j sits at fine
// (j + 0.5) * step - 0.5, which is GL's own), and the final coverage = edge x fade, in uint8.
export const FINE_FRAGMENT = `${PRELUDE}
uniform sampler2D u_prep;
uniform ivec2 u_grid;
uniform float u_step;
out vec4 o;
vec4 at(ivec2 q) { return texelFetch(u_prep, clamp(q, ivec2(0), u_grid - 1), 0); }
void main() {
  vec4 v;
  if (u_step < 1.5) {
    v = texelFetch(u_prep, ivec2(gl_FragCoord.xy), 0);
  } else {
    vec2 s = gl_FragCoord.xy / u_step - 0.5;
    vec2 f = floor(s);
    vec2 t = s - f;
    ivec2 i = ivec2(f);
    v = mix(mix(at(i), at(i + ivec2(1, 0)), t.x), mix(at(i + ivec2(0, 1)), at(i + ivec2(1, 1)), t.x), t.y);
    v.zw = floor(v.zw * 255.0 + 0.5) / 255.0;   // the masks are upsampled as uint8
  }
  float coverage = u8(floor(v.w * 255.0 + 0.5) * floor(v.z * 255.0 + 0.5) / 255.0);
  o = vec4(v.xy, coverage / 255.0, 0.0);
}`;

// One layer sampled through the map (cv2.remap, INTER_LINEAR, transparent outside the texture, the
// fraction in 1/32 steps as OpenCV's), times coverage x opacity x intensity, premultiplied uint8.
export const WARP_FRAGMENT = `${PRELUDE}
uniform sampler2D u_fine;
uniform sampler2D u_layer;  // the layer at the face's mip level (one texture per level)
uniform float u_scale;
out vec4 o;
vec4 texel(ivec2 p, ivec2 size) {
  if (any(lessThan(p, ivec2(0))) || any(greaterThanEqual(p, size))) return vec4(0.0);
  return texelFetch(u_layer, p, 0);
}
void main() {
  vec4 f = texelFetch(u_fine, ivec2(gl_FragCoord.xy), 0);
  float coverage = floor(f.z * 255.0 + 0.5);
  if (coverage == 0.0 || f.x < -2.0 || f.y < -2.0) { o = vec4(0.0); return; }
  ivec2 size = textureSize(u_layer, 0);
  vec2 q = floor(f.xy * 32.0 + 0.5);
  vec2 whole = floor(q / 32.0);
  vec2 t = (q - whole * 32.0) / 32.0;
  ivec2 i = ivec2(whole);
  vec4 s = mix(mix(texel(i, size), texel(i + ivec2(1, 0), size), t.x),
               mix(texel(i + ivec2(0, 1), size), texel(i + ivec2(1, 1), size), t.x), t.y);
  o = u8(u8(s * 255.0) * coverage * u_scale / 255.0) / 255.0;
}`;

// Sums of the frame around sample points (the light probe's 3x3 and the skin patches' 5x5), one
// output pixel per point, read back once: the CPU fits the light and averages the skin from them.
export const PROBE_VERTEX = `#version 300 es
precision highp float;
in vec2 a_centre;
uniform float u_count;    // output pixels; gl_VertexID counts from drawArrays' first, the group's column
flat out ivec2 v_centre;
void main() {
  gl_Position = vec4((float(gl_VertexID) + 0.5) / u_count * 2.0 - 1.0, 0.0, 0.0, 1.0);
  gl_PointSize = 1.0;
  v_centre = ivec2(a_centre);
}`;

export const PROBE_FRAGMENT = `${PRELUDE}
uniform sampler2D u_frame;
uniform int u_radius;
uniform int u_spacing;
flat in ivec2 v_centre;
out vec4 o;
void main() {
  ivec2 size = textureSize(u_frame, 0);
  vec3 sum = vec3(0.0);
  for (int dy = -u_radius; dy <= u_radius; dy++) for (int dx = -u_radius; dx <= u_radius; dx++) {
    sum += floor(texelFetch(u_frame, clamp(v_centre + u_spacing * ivec2(dx, dy), ivec2(0), size - 1), 0).rgb * 255.0 + 0.5);
  }
  o = vec4(sum, 1.0);
}`;

// The finished frame onto the canvas, flipped (the canvas' row 0 is its bottom).
export const SHOW_FRAGMENT = `${PRELUDE}
uniform sampler2D u_image;
out vec4 o;
void main() {
  ivec2 size = textureSize(u_image, 0);
  ivec2 p = ivec2(gl_FragCoord.xy);
  o = vec4(texelFetch(u_image, ivec2(p.x, size.y - 1 - p.y), 0).rgb, 1.0);
}`;
