// What this browser must have, checked before anything is downloaded or the camera is asked for,
// so a visitor on an old or locked-down browser reads why at once instead of waiting for nothing.

// The smallest WebAssembly module that uses SIMD (a function returning i8x16.popcnt(i8x16.splat(0)) as a v128).
// MediaPipe's site ships only its SIMD build (the other would double the site's size).
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
  65, 0, 253, 15, 253, 98, 11]);

export function hasWebGL2() {
  try {
    const canvas = document.createElement("canvas");
    const gl = canvas.getContext("webgl2");
    if (!gl) return false;
    gl.getExtension("WEBGL_lose_context")?.loseContext(); // give the context back at once
    return true;
  } catch {
    return false;
  }
}

export function hasWasmSimd() {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** The code of the first thing missing (see messages.js), or null when the page can run. */
export function missingFeature() {
  if (!hasWasmSimd()) return "no-simd";
  if (!hasWebGL2()) return "no-webgl2";
  if (!window.isSecureContext) return "needs-https";
  if (!navigator.mediaDevices?.getUserMedia) return "no-camera";
  return null;
}
