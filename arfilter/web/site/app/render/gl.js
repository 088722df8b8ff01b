// Small WebGL2 helpers: programs, textures with framebuffers, one full-screen triangle.
// Kept apart from the renderer so that file reads as the pipeline, not as GL bookkeeping.

export const VERTEX_FULLSCREEN = `#version 300 es
// One triangle that covers the viewport; fragments use gl_FragCoord, so no varyings are needed.
void main() {
  vec2 corner = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}`;

/** Compile and link one program; a GLSL error is thrown with its log (a bug, never the user's). */
export function program(gl, vertexSource, fragmentSource) {
  const prog = gl.createProgram();
  for (const [type, source] of [[gl.VERTEX_SHADER, vertexSource], [gl.FRAGMENT_SHADER, fragmentSource]]) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
      throw new Error(`GLSL: ${gl.getShaderInfoLog(shader)}`);
    }
    gl.attachShader(prog, shader);
    gl.deleteShader(shader);
  }
  gl.linkProgram(prog);
  if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`GLSL link: ${gl.getProgramInfoLog(prog)}`);
  const uniforms = {};
  const count = gl.getProgramParameter(prog, gl.ACTIVE_UNIFORMS);
  for (let i = 0; i < count; i++) {
    const name = gl.getActiveUniform(prog, i).name.replace(/\[0\]$/, "");
    uniforms[name] = gl.getUniformLocation(prog, name);
  }
  return { prog, uniforms };
}

/** Set uniforms by name from plain values: numbers are floats unless the name is in `ints`. */
export function setUniforms(gl, { uniforms }, values) {
  for (const [name, value] of Object.entries(values)) {
    const at = uniforms[name];
    if (at === undefined || at === null) continue; // optimised away by the compiler
    if (value instanceof Int32Array) {
      [gl.uniform1iv, gl.uniform2iv, gl.uniform3iv, gl.uniform4iv][value.length - 1].call(gl, at, value);
    } else if (typeof value === "number") {
      gl.uniform1f(at, value);
    } else if (value.length === 9) {
      gl.uniform1fv(at, value);
    } else {
      [null, gl.uniform2fv, gl.uniform3fv, gl.uniform4fv][value.length - 1].call(gl, at, value);
    }
  }
}

/** Bind textures to units 0.. in order and point the named samplers at them. */
export function bindTextures(gl, { uniforms }, textures) {
  Object.entries(textures).forEach(([name, texture], unit) => {
    gl.activeTexture(gl.TEXTURE0 + unit);
    gl.bindTexture(gl.TEXTURE_2D, texture);
    if (uniforms[name]) gl.uniform1i(uniforms[name], unit);
  });
}

/** A texture read only with texelFetch (no filtering: float targets are not filterable everywhere). */
export function target(gl, width, height, internalFormat) {
  const texture = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.texStorage2D(gl.TEXTURE_2D, 1, internalFormat, width, height);
  for (const [key, value] of [[gl.TEXTURE_MIN_FILTER, gl.NEAREST], [gl.TEXTURE_MAG_FILTER, gl.NEAREST],
    [gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE], [gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE]]) {
    gl.texParameteri(gl.TEXTURE_2D, key, value);
  }
  const framebuffer = gl.createFramebuffer();
  gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
  gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
  const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
  gl.bindFramebuffer(gl.FRAMEBUFFER, null);
  if (status !== gl.FRAMEBUFFER_COMPLETE) {
    const error = new Error("this browser cannot draw into the textures the look needs");
    error.code = "no-webgl2";
    throw error;
  }
  return { texture, framebuffer, width, height };
}

export function deleteTarget(gl, t) {
  if (!t) return;
  gl.deleteTexture(t.texture);
  gl.deleteFramebuffer(t.framebuffer);
}

/** Draw into `t` (or the canvas when null) over [x, y, w, h] only (scissored). */
export function drawInto(gl, t, x, y, w, h) {
  gl.bindFramebuffer(gl.FRAMEBUFFER, t ? t.framebuffer : null);
  gl.enable(gl.SCISSOR_TEST);
  gl.scissor(x, y, w, h);
}

/**
 * One texture per mip level of the look, uploaded as they are: the premultiplied bytes must arrive
 * unchanged (no premultiplication, no colour conversion), and the levels are the pack's pyrDown levels,
 * not the browser's generated ones, so the page samples what the Python renderer samples. Not one
 * mipmapped texture: pyrDown rounds odd sides up (225 -> 113) where WebGL's chain must round down
 * (112), and an incomplete chain reads as opaque black: a user's 900 px pack would paint the face black.
 */
export function levelTextures(gl, bitmaps) {
  gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
  gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
  gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
  return bitmaps.map((bitmap) => {
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, bitmap.width, bitmap.height, 0, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAX_LEVEL, 0);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    return texture;
  });
}
