// The look on every face, in WebGL2: a port of arfilter/render/renderer.py (Renderer.draw_face).
// Per face: cull and sort the triangles on the CPU (face.js), rasterise the texture map over the
// look's region only, then per layer warp it and blend it into the picture so far (two frame-sized
// textures, ping-ponged over the region). Nothing is drawn outside the faces' regions, so a phone
// pays for the face, not the frame.
import { VERTEX_FULLSCREEN, bindTextures, deleteTarget, drawInto, levelTextures, program, setUniforms, target } from "./gl.js";
import { FINE_FRAGMENT, MESH_FRAGMENT, MESH_VERTEX, PREP_FRAGMENT, PROBE_FRAGMENT, PROBE_VERTEX, SHOW_FRAGMENT, UV_FRAGMENT, UV_VERTEX, WARP_FRAGMENT, WEIGHT_FRAGMENT } from "./shaders.js";
import { SUM_ALL_FRAGMENT, SUM_BLOCKS_FRAGMENT, blendSource } from "./blends.js";
import { MESH_VERTICES, faceWidth, levelFor, lookRoi, rasterStep, vertexNormals, visibleTriangles } from "./face.js";
import { LightEstimator } from "./light.js";
import { faceSkinLuma, probeCentres, lightSamples } from "./probe.js";
import { reliefUniforms } from "./relief.js";

/** The mesh and the looks' descriptions (data/mesh.json, data/looks.json) under the site at `baseUrl`. */
export async function loadAssets(baseUrl) {
  const base = new URL(baseUrl, document.baseURI);
  const get = async (path) => {
    const response = await fetch(new URL(path, base));
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  };
  const [mesh, looks] = await Promise.all([get("data/mesh.json"), get("data/looks.json")]);
  return { mesh, looks: looks.looks, baseUrl: base.href };
}

function noWebgl2(message) {
  const error = new Error(message);
  error.code = "no-webgl2";
  return error;
}

async function decodeLevel(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  // The bytes are premultiplied values as they are: no premultiplication, no colour management.
  return createImageBitmap(await response.blob(), { premultiplyAlpha: "none", colorSpaceConversion: "none" });
}

export class FaceRenderer {
  constructor(canvas, assets) {
    const gl = canvas.getContext("webgl2", { antialias: false, alpha: false, depth: false, premultipliedAlpha: false });
    if (!gl) throw noWebgl2("WebGL2 is not available in this browser");
    if (!gl.getExtension("EXT_color_buffer_float")) throw noWebgl2("this browser's WebGL2 cannot draw into float textures");
    this.gl = gl;
    this.canvas = canvas;
    this.assets = assets;
    this.mesh = assets.mesh;
    this.skinTriangles = Uint16Array.from(assets.mesh.skin_triangles);
    this.looks = new Map();
    this.look = null;
    this.lighting = new LightEstimator();
    this.size = [0, 0];
    this.targets = null;
    this.blendPrograms = new Map();
    this.programs = {
      mesh: program(gl, MESH_VERTEX, MESH_FRAGMENT),
      prep: program(gl, VERTEX_FULLSCREEN, PREP_FRAGMENT),
      uv: program(gl, UV_VERTEX, UV_FRAGMENT),
      weight: program(gl, VERTEX_FULLSCREEN, WEIGHT_FRAGMENT),
      fine: program(gl, VERTEX_FULLSCREEN, FINE_FRAGMENT),
      warp: program(gl, VERTEX_FULLSCREEN, WARP_FRAGMENT),
      probe: program(gl, PROBE_VERTEX, PROBE_FRAGMENT),
      show: program(gl, VERTEX_FULLSCREEN, SHOW_FRAGMENT),
      sumBlocks: program(gl, VERTEX_FULLSCREEN, SUM_BLOCKS_FRAGMENT),
      sumAll: program(gl, VERTEX_FULLSCREEN, SUM_ALL_FRAGMENT),
    };
    this.buffers = { point: gl.createBuffer(), uv: gl.createBuffer(), facing: gl.createBuffer(),
      index: gl.createBuffer(), centre: gl.createBuffer() };
    this.meshVao = this.vertexArray(this.programs.mesh, [["a_point", this.buffers.point, 2],
      ["a_uv", this.buffers.uv, 2], ["a_facing", this.buffers.facing, 1]]);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.uv);
    gl.bufferData(gl.ARRAY_BUFFER, Float32Array.from(assets.mesh.uvs), gl.STATIC_DRAW);
    gl.bindVertexArray(this.meshVao);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.buffers.index);
    gl.bindVertexArray(null);
    this.probeVao = this.vertexArray(this.programs.probe, [["a_centre", this.buffers.centre, 2]]);
    this.emptyVao = gl.createVertexArray();
    this.probeTarget = target(gl, 256, 1, gl.RGBA32F);
    this.sumTarget = target(gl, 1, 1, gl.RGBA32F);
    this.uvTarget = target(gl, assets.mesh.uv_grid_texels, assets.mesh.uv_grid_texels, gl.RGBA32F);
  }

  vertexArray({ prog }, attributes) {
    const gl = this.gl;
    const vao = gl.createVertexArray();
    gl.bindVertexArray(vao);
    for (const [name, buffer, size] of attributes) {
      const location = gl.getAttribLocation(prog, name);
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.enableVertexAttribArray(location);
      gl.vertexAttribPointer(location, size, gl.FLOAT, false, 0, 0);
    }
    gl.bindVertexArray(null);
    return vao;
  }

  /** Load the look called `name` (its textures once, then cached) and draw it from the next frame. */
  async setLook(name) {
    if (!this.looks.has(name)) {
      const spec = this.assets.looks.find((look) => look.name === name);
      if (!spec) throw new Error(`unknown look ${name}`);
      const layers = await Promise.all(spec.layers.map(async (layer) => {
        const bitmaps = await Promise.all(layer.levels.map((path) => decodeLevel(new URL(path, this.assets.baseUrl))));
        const textures = levelTextures(this.gl, bitmaps);
        const sides = bitmaps.map((bitmap) => bitmap.width);
        bitmaps.forEach((bitmap) => bitmap.close());
        return { ...layer, textures, sides, levelCount: bitmaps.length };
      }));
      for (const layer of layers) this.blendProgram(layer.shader);
      this.looks.set(name, { ...spec, layers, touched: new Set(spec.touched) });
    }
    this.look = this.looks.get(name);
  }

  blendProgram(shader) {
    if (!this.blendPrograms.has(shader)) {
      this.blendPrograms.set(shader, program(this.gl, VERTEX_FULLSCREEN, blendSource(shader)));
    }
    return this.blendPrograms.get(shader);
  }

  /** Frame-sized targets, made again only when the frame's size changes. */
  resize(width, height) {
    if (this.size[0] === width && this.size[1] === height) return;
    const gl = this.gl;
    if (this.targets) Object.values(this.targets).flat().forEach((t) => deleteTarget(gl, t));
    this.targets = {
      pictures: [target(gl, width, height, gl.RGBA8), target(gl, width, height, gl.RGBA8)],
      mesh: target(gl, width, height, gl.RGBA32F),
      prep: target(gl, width, height, gl.RGBA32F),
      fine: target(gl, width, height, gl.RGBA32F),
      warp: target(gl, width, height, gl.RGBA8),
      blocks: target(gl, Math.ceil(width / 24), Math.ceil(height / 24), gl.RGBA32F),
    };
    this.size = [width, height];
    this.canvas.width = width;
    this.canvas.height = height;
  }

  /**
   * Draw `source` (a video, a VideoFrame, an image) with the look on `faces` into the canvas. `faces`:
   * [{id, landmarks}] in pixels (x * width, y * height, z * width), 478 points each; `opacity` (0-1) is honoured when present.
   */
  render(source, faces, { intensity = 1.0 } = {}) {
    const gl = this.gl;
    const width = source.videoWidth || source.displayWidth || source.width;
    const height = source.videoHeight || source.displayHeight || source.height;
    if (!width || !height) return; // a video with no frame yet: nothing to draw
    this.resize(width, height);
    const [first, second] = this.targets.pictures;
    gl.bindTexture(gl.TEXTURE_2D, first.texture);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, source);
    if (this.look && intensity > 0) {
      for (const face of faces) this.drawFace(face, [first, second], intensity);
    }
    this.current = first;
    this.show(first);
  }

  /** The last picture drawn, RGBA, rows top-down (for the saved photo and the parity test). */
  readFrame() {
    const gl = this.gl;
    const [width, height] = this.size;
    const pixels = new Uint8Array(width * height * 4);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.current.framebuffer);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    return pixels; // image row y is texture row y: already top-down
  }

  copy(from, to, roi) {
    const gl = this.gl;
    gl.disable(gl.SCISSOR_TEST);
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, from.framebuffer);
    gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, to.framebuffer);
    const { x, y, width, height } = roi;
    gl.blitFramebuffer(x, y, x + width, y + height, x, y, x + width, y + height, gl.COLOR_BUFFER_BIT, gl.NEAREST);
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, null);
    gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, null);
  }

  show(picture) {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.disable(gl.SCISSOR_TEST);
    gl.viewport(0, 0, this.size[0], this.size[1]);
    this.pass(this.programs.show, { u_image: picture.texture }, {});
  }

  /** One full-viewport pass of `prog` (the caller set the target, viewport and scissor). */
  pass(prog, textures, uniforms) {
    const gl = this.gl;
    gl.useProgram(prog.prog);
    bindTextures(gl, prog, textures);
    setUniforms(gl, prog, uniforms);
    gl.bindVertexArray(this.emptyVao);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  /**
   * Paint one face into `pictures[0]` (the frame); `pictures[1]` is the spare the layers ping-pong
   * with, brought up to date over this face's region only (no full-frame copies).
   */
  drawFace(face, pictures, intensity) {
    let picture = pictures;
    const look = this.look;
    const landmarks = face.landmarks;
    const scale = intensity * (face.opacity ?? 1.0);
    const visible = visibleTriangles(landmarks, this.skinTriangles, this.mesh.front_sign);
    const roi = lookRoi(landmarks, this.skinTriangles, visible, look.touched, this.size[0], this.size[1]);
    if (roi.width <= 0 || roi.height <= 0 || scale <= 0) return;
    const width = faceWidth(landmarks);
    const level = levelFor(width, look.face_texels, look.layers[0].levelCount);
    const step = rasterStep(width);
    const normals = vertexNormals(landmarks, this.mesh.triangles, this.mesh.front_sign);
    const extras = this.extras(face, picture[0], look, normals, width);
    this.rasterise(landmarks, normals, visible, roi, level, step, look);
    this.copy(pictures[0], pictures[1], roi);
    const texelPx = width / Math.max(look.face_texels, 1e-6);
    for (const layer of look.layers) {
      const uniforms = this.layerUniforms(layer, extras, texelPx);
      if (uniforms === null) continue; // relief without a light estimate yet: nothing to draw
      this.warp(layer, roi, level, layer.opacity * scale);
      if (layer.shader === "paint") this.sumSkin(picture[0], roi);
      const gl = this.gl;
      drawInto(gl, picture[1], roi.x, roi.y, roi.width, roi.height);
      gl.viewport(0, 0, this.size[0], this.size[1]);
      this.pass(this.blendProgram(layer.shader),
        { u_base: picture[0].texture, u_warp: this.targets.warp.texture, u_fine: this.targets.fine.texture,
          u_sums: this.sumTarget.texture },
        { u_origin: Int32Array.of(roi.x, roi.y), u_roi: Int32Array.of(roi.width, roi.height), ...uniforms });
      picture = [picture[1], picture[0]];
    }
    if (picture[0] !== pictures[0]) this.copy(picture[0], pictures[0], roi); // the result lives in the frame
  }

  /** Per-face values the shaders need: the skin's brightness and the light (probe read back once). */
  extras(face, picture, look, normals, width) {
    const shaders = new Set(look.layers.map((layer) => layer.shader));
    const extras = { skin: null, light: null };
    const needLight = shaders.has("relief") && this.lighting.wantsSamples(face.id);
    if (!shaders.has("bruise") && !needLight && !shaders.has("relief")) return extras;
    const centres = probeCentres(face.landmarks, this.mesh, width);
    const sums = (shaders.has("bruise") || needLight) ? this.probe(picture, centres) : null;
    if (shaders.has("bruise")) extras.skin = faceSkinLuma(sums, centres, this.size);
    if (shaders.has("relief")) {
      extras.light = this.lighting.light(face.id, () => lightSamples(sums, centres, normals, this.size));
    }
    return extras;
  }

  /** Channel sums around every probe centre, read back (one row of float pixels). */
  probe(picture, centres) {
    const gl = this.gl;
    drawInto(gl, this.probeTarget, 0, 0, this.probeTarget.width, 1);
    gl.viewport(0, 0, this.probeTarget.width, 1);
    gl.useProgram(this.programs.probe.prog);
    bindTextures(gl, this.programs.probe, { u_frame: picture.texture });
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.centre);
    gl.bufferData(gl.ARRAY_BUFFER, centres.points, gl.DYNAMIC_DRAW);
    gl.bindVertexArray(this.probeVao);
    for (const group of centres.groups) {
      setUniforms(gl, this.programs.probe, { u_count: this.probeTarget.width,
        u_radius: Int32Array.of(group.radius), u_spacing: Int32Array.of(group.spacing) });
      gl.drawArrays(gl.POINTS, group.first, group.count);
    }
    const sums = new Float32Array(this.probeTarget.width * 4);
    gl.readPixels(0, 0, this.probeTarget.width, 1, gl.RGBA, gl.FLOAT, sums);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    return sums;
  }

  layerUniforms(layer, extras, texelPx) {
    const p = layer.params;
    switch (layer.shader) {
      case "bruise":
        return { u_skin: extras.skin, u_age: p.age, u_spread: p.age_spread, u_intensity: p.intensity };
      case "paint":
        return { u_shading: p.shading };
      case "relief":
        return extras.light && p.strength > 0 ? reliefUniforms(extras.light, p.strength, texelPx) : null;
      default:
        return {};
    }
  }

  /** The map over the region: mesh -> grid (every `step`-th pixel) -> coverage and fade -> every pixel. */
  rasterise(landmarks, normals, visible, roi, level, step, look) {
    const gl = this.gl;
    const grid = [Math.ceil(roi.width / step), Math.ceil(roi.height / step)];
    const points = new Float32Array(MESH_VERTICES * 2);
    const facing = new Float32Array(MESH_VERTICES);
    for (let v = 0; v < MESH_VERTICES; v++) {
      points[2 * v] = landmarks[3 * v];
      points[2 * v + 1] = landmarks[3 * v + 1];
      facing[v] = normals[3 * v + 2];
    }
    const indices = new Uint16Array(visible.length * 3);
    visible.forEach((t, k) => indices.set(this.skinTriangles.subarray(3 * t, 3 * t + 3), 3 * k));
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.point);
    gl.bufferData(gl.ARRAY_BUFFER, points, gl.DYNAMIC_DRAW);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.facing);
    gl.bufferData(gl.ARRAY_BUFFER, facing, gl.DYNAMIC_DRAW);
    gl.bindVertexArray(this.meshVao);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, indices, gl.DYNAMIC_DRAW);

    drawInto(gl, this.targets.mesh, 0, 0, grid[0], grid[1]);
    gl.viewport(0, 0, grid[0], grid[1]);
    gl.clearBufferfv(gl.COLOR, 0, [-1e4, -1e4, 0, 0]);
    gl.useProgram(this.programs.mesh.prog);
    setUniforms(gl, this.programs.mesh, { u_origin: [roi.x, roi.y], u_step: step, u_grid: grid,
      u_size: look.texture_size, u_level_scale: 2 ** level });
    gl.drawElements(gl.TRIANGLES, indices.length, gl.UNSIGNED_SHORT, 0); // far to near: the nearest wins

    drawInto(gl, this.targets.prep, 0, 0, grid[0], grid[1]);
    this.pass(this.programs.prep, { u_mesh: this.targets.mesh.texture },
      { u_size: Int32Array.of(...grid), u_dilate: step > 1 ? 1 : 0 });

    this.fadeGrid(visible, look);
    drawInto(gl, this.targets.mesh, 0, 0, grid[0], grid[1]); // the mesh pass is read: its target is free
    gl.viewport(0, 0, grid[0], grid[1]);
    this.pass(this.programs.weight, { u_prep: this.targets.prep.texture, u_uv: this.uvTarget.texture },
      { u_grid: Int32Array.of(...grid), u_step: step, u_level_scale: 2 ** level, u_size: look.texture_size,
        u_box: look.uv_box, u_texels: this.mesh.uv_grid_texels });

    drawInto(gl, this.targets.fine, 0, 0, roi.width, roi.height);
    gl.viewport(0, 0, roi.width, roi.height);
    this.pass(this.programs.fine, { u_prep: this.targets.mesh.texture }, { u_grid: Int32Array.of(...grid), u_step: step });
  }

  /** The grazing fade over the look's UV box, from the visible touched triangles (mesh buffers already set). */
  fadeGrid(visible, look) {
    const gl = this.gl;
    const shown = visible.filter((t) => look.touched.has(t));
    const indices = new Uint16Array(shown.length * 3);
    shown.forEach((t, k) => indices.set(this.skinTriangles.subarray(3 * t, 3 * t + 3), 3 * k));
    gl.bindVertexArray(this.meshVao);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, indices, gl.DYNAMIC_DRAW);
    const [, , boxWidth, boxHeight] = look.uv_box;
    drawInto(gl, this.uvTarget, 0, 0, boxWidth, boxHeight);
    gl.viewport(0, 0, boxWidth, boxHeight);
    gl.clearBufferfv(gl.COLOR, 0, [0, 0, 0, 0]);
    gl.useProgram(this.programs.uv.prog);
    setUniforms(gl, this.programs.uv, { u_box: look.uv_box, u_texels: this.mesh.uv_grid_texels,
      u_frame: this.size, u_fade: this.mesh.fade_facing });
    gl.drawElements(gl.TRIANGLES, indices.length, gl.UNSIGNED_SHORT, 0);
  }

  /** One layer warped over the region (premultiplied, coverage x opacity x intensity in). */
  warp(layer, roi, level, scale) {
    const gl = this.gl;
    drawInto(gl, this.targets.warp, 0, 0, roi.width, roi.height);
    gl.viewport(0, 0, roi.width, roi.height);
    this.pass(this.programs.warp, { u_fine: this.targets.fine.texture, u_layer: layer.textures[level] },
      { u_scale: scale });
  }

  /** paint's mean skin under the layer, summed on the GPU into sumTarget (no read back). */
  sumSkin(picture, roi) {
    const gl = this.gl;
    const blocks = [Math.ceil(Math.ceil(roi.width / 3) / 8), Math.ceil(Math.ceil(roi.height / 3) / 8)];
    drawInto(gl, this.targets.blocks, 0, 0, blocks[0], blocks[1]);
    gl.viewport(0, 0, blocks[0], blocks[1]);
    this.pass(this.programs.sumBlocks, { u_base: picture.texture, u_warp: this.targets.warp.texture,
      u_fine: this.targets.fine.texture }, { u_origin: Int32Array.of(roi.x, roi.y), u_roi: Int32Array.of(roi.width, roi.height) });
    drawInto(gl, this.sumTarget, 0, 0, 1, 1);
    gl.viewport(0, 0, 1, 1);
    this.pass(this.programs.sumAll, { u_blocks: this.targets.blocks.texture }, { u_count: Int32Array.of(...blocks) });
  }

  /** Drop per-face memory (the light): the next picture shows other people. */
  forget() {
    this.lighting = new LightEstimator();
  }

  dispose() {
    const gl = this.gl;
    if (this.targets) Object.values(this.targets).flat().forEach((t) => deleteTarget(gl, t));
    deleteTarget(gl, this.probeTarget);
    deleteTarget(gl, this.sumTarget);
    deleteTarget(gl, this.uvTarget);
    for (const look of this.looks.values()) look.layers.forEach((layer) => layer.textures.forEach((t) => gl.deleteTexture(t)));
    for (const prog of [...Object.values(this.programs), ...this.blendPrograms.values()]) gl.deleteProgram(prog.prog);
    Object.values(this.buffers).forEach((buffer) => gl.deleteBuffer(buffer));
    this.looks.clear();
    this.targets = null;
  }
}
