// Face tracking in the browser: MediaPipe's FaceLandmarker (VIDEO mode, up to 2 faces), loaded
// from this site's own copy of the runtime and model (no other host is ever asked), with its
// landmarks turned into pixels exactly as arfilter/tracking/tracker.py does (x*w, y*h, z*w).

import { FaceLandmarker } from "../../mediapipe/vision_bundle.mjs";
import { fetchAll } from "./download.js";

const SITE = new URL("../../", import.meta.url);
export const MAX_FACES = 2;

const WASM = "mediapipe/wasm/vision_wasm_internal.wasm";
const MODEL = "models/face_landmarker.task";
const SIZES = [13_000_000, 2_800_000]; // what the two files weigh, for progress before the server says

/** The WASM fileset, named directly (no FilesetResolver probing; only the SIMD build is shipped); the
 * binary already downloaded (a blob: URL of its bytes, so the runtime does not fetch it again). */
function fileset(wasmUrl) {
  return {
    wasmLoaderPath: new URL("mediapipe/wasm/vision_wasm_internal.js", SITE).href,
    wasmBinaryPath: wasmUrl,
  };
}

function options(delegate, model) {
  return {
    baseOptions: { modelAssetBuffer: model, delegate },
    runningMode: "VIDEO",
    numFaces: MAX_FACES,
    outputFaceBlendshapes: false,
    outputFacialTransformationMatrixes: false,
  };
}

/** Landmarks of one face as pixels, Float32Array(n * 3): the same float32 values as Python's Face.landmarks. */
export function toPixels(points, width, height) {
  const out = new Float32Array(points.length * 3);
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    out[3 * i] = p.x * width; // one float32 rounding of the exact product, as numpy's float32 multiply
    out[3 * i + 1] = p.y * height;
    out[3 * i + 2] = p.z * width;
  }
  return out;
}

/** Whether WebGL runs in software here (SwiftShader, llvmpipe: a browser without a usable GPU). There
 * MediaPipe's GPU delegate is many times slower than its CPU one (800 ms against 30 ms a frame here). */
export function softwareGL() {
  try {
    const gl = document.createElement("canvas").getContext("webgl2");
    if (!gl) return true;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(name);
  } catch {
    return true;
  }
}

export class Tracker {
  /** Load the model: on the GPU where there is a real one (phones: several times faster), else on the CPU.
   * `choice`: "auto" (that), or "GPU" / "CPU" to insist (?delegate= in the page's address).
   * `onProgress(fraction)`: how much of the runtime and the model has arrived (0-1). */
  static async create(choice = "auto", onProgress = () => {}) {
    const auto = softwareGL() ? ["CPU"] : ["GPU", "CPU"];
    const order = choice === "CPU" ? ["CPU"] : choice === "GPU" ? ["GPU", "CPU"] : auto;
    const [wasm, model] = await fetchAll([new URL(WASM, SITE).href, new URL(MODEL, SITE).href], SIZES, onProgress);
    const wasmUrl = URL.createObjectURL(new Blob([wasm], { type: "application/wasm" }));
    let lastError = null;
    try {
      for (const delegate of order) {
        try {
          // A copy each try: the runtime may take over the buffer it is given.
          const landmarker = await FaceLandmarker.createFromOptions(fileset(wasmUrl), options(delegate, model.slice()));
          return new Tracker(landmarker, delegate);
        } catch (error) {
          lastError = error;
        }
      }
    } finally {
      URL.revokeObjectURL(wasmUrl);
    }
    throw lastError;
  }

  constructor(landmarker, delegate) {
    this.landmarker = landmarker;
    this.delegate = delegate;
    this.lastTimestamp = -1;
  }

  /** Faces in `source` (a playing video), as [{landmarks: Float32Array}] in the source's pixels. */
  detect(source, width, height, nowMs) {
    const timestamp = Math.max(Math.round(nowMs), this.lastTimestamp + 1); // VIDEO mode wants them rising
    this.lastTimestamp = timestamp;
    const result = this.landmarker.detectForVideo(source, timestamp);
    return (result.faceLandmarks ?? []).map((points) => ({ landmarks: toPixels(points, width, height) }));
  }

  close() {
    this.landmarker?.close();
    this.landmarker = null;
  }
}
