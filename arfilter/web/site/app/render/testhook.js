// The parity hook (loaded by index.html only with ?testhook=1): renders a given frame with given
// landmarks, locally, and returns the pixels, so tests/web/test_web_parity.py can compare the page
// with the Python renderer. It sends nothing anywhere and draws into a canvas of its own.
import { FaceRenderer, loadAssets } from "./renderer.js";

let renderer = null;

async function ready() {
  if (renderer === null) {
    renderer = new FaceRenderer(document.createElement("canvas"), await loadAssets(new URL("./", document.baseURI)));
  }
  return renderer;
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8ClampedArray(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

window.arfilterTest = {
  /** Base64 RGBA (width x height, rows top-down) of the frame drawn with `look` on the faces given. */
  async render(look, width, height, rgbaBase64, landmarksArray, intensity = 1.0) {
    const r = await ready();
    await r.setLook(look);
    r.forget(); // a single frame: the light is the first fit on it, as a fresh Python Renderer's
    const frame = new ImageData(fromBase64(rgbaBase64), width, height);
    const faces = landmarksArray.map((points, id) => ({ id, landmarks: Float32Array.from(points) }));
    r.render(frame, faces, { intensity });
    return toBase64(r.readFrame());
  },

  /** Base64 RGBA of one uploaded mip level as the GPU holds it (the PNG's bytes must arrive unchanged). */
  async levelBytes(look, layer, level) {
    const r = await ready();
    await r.setLook(look);
    const gl = r.gl;
    const { textures, sides } = r.looks.get(look).layers[layer];
    const framebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, textures[level], 0);
    const side = sides[level];
    const pixels = new Uint8Array(side * side * 4);
    gl.readPixels(0, 0, side, side, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.deleteFramebuffer(framebuffer);
    return toBase64(pixels);
  },
};
window.dispatchEvent(new Event("arfilter-testhook-ready"));
