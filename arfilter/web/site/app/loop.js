// The frame loop: each new camera frame is tracked, its faces smoothed and kept by id, and the
// look drawn on it; its timings go to the stats. A photo is taken right after a frame is drawn
// (the WebGL picture is only readable until the browser shows it).

import { openCamera } from "./ui/camera.js";

// The video's frame callbacks are best effort (the specification's words): if none has come for this long
// while the camera plays, the loop follows the video by animation frames from then on, so a kiosk left
// running never freezes on its last picture.
const STALLED_MS = 1000;

export class FrameLoop {
  constructor({ video, view, tracker, renderer, stabilizer, stats, corner, onSlow, onCameraEnded = null }) {
    Object.assign(this, { video, view, tracker, renderer, stabilizer, stats, corner, onSlow, onCameraEnded });
    this.intensity = 1.0;
    this.look = null;
    this.facing = "user";
    this.running = false;
    this.pictureWanted = [];
    this.toldSlow = false;
    this.requestVideoFrame = Boolean(video.requestVideoFrameCallback);
    this.snapshots = typeof VideoFrame === "function";
    this.step = this.step.bind(this);
  }

  async setLook(name) {
    await this.renderer.setLook(name);
    this.look = name;
  }

  /** Mirror the preview like a mirror for the front camera only (CSS: the picture itself is untouched). */
  mirror() {
    this.view.classList.toggle("mirrored", this.facing === "user");
  }

  start(facing) {
    this.facing = facing;
    this.mirror();
    this.running = true;
    this.lastStep = performance.now();
    this.schedule();
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => this.unstall(), STALLED_MS / 2);
  }

  stop() {
    this.running = false;
    this.cancel();
    clearInterval(this.watchdog);
  }

  /** No frame callback for STALLED_MS while the camera plays: animation frames from now on. */
  unstall() {
    const video = this.video;
    if (!this.running || !this.requestVideoFrame || video.paused || video.readyState < 2) return;
    if (document.visibilityState !== "visible") return; // a page in the background gets no frames at all
    if (performance.now() - this.lastStep < STALLED_MS) return;
    console.warn(`no video frame callback for ${STALLED_MS} ms: following the video by animation frames`);
    this.cancel();
    this.requestVideoFrame = false;
    this.schedule();
  }

  /** Drop the callback asked for the next frame: a stop and a start must not leave two chains running. */
  cancel() {
    if (this.pending === undefined) return;
    if (this.requestVideoFrame) this.video.cancelVideoFrameCallback(this.pending);
    else cancelAnimationFrame(this.pending);
    this.pending = undefined;
  }

  schedule() {
    if (!this.running) return;
    this.cancel();
    this.pending = this.requestVideoFrame ? this.video.requestVideoFrameCallback(this.step) : requestAnimationFrame(this.step);
  }

  /** The camera is back after it stopped on its own: maybe somebody else in front of it, so the faces
   * and the light are forgotten. */
  async reopen() {
    await openCamera(this.video, this.facing, this.onCameraEnded);
    this.stabilizer.reset();
    this.renderer.forget();
    this.start(this.facing);
  }

  /** Front to back camera and back: new people, new light, new picture size: forget the faces. */
  async switchCamera() {
    const facing = this.facing === "user" ? "environment" : "user";
    this.stop();
    try {
      await openCamera(this.video, facing, this.onCameraEnded);
      this.facing = facing;
    } finally {
      this.stabilizer.reset();
      this.renderer.forget();
      this.start(this.facing);
    }
  }

  /** Draw with `renderer` from now on (a new one after the GPU context was lost and given back: a phone
   * does that to a page in the background), with the look this loop was showing. */
  async renew(renderer) {
    this.renderer = renderer; // the old one's GPU objects died with the context: nothing to delete
    if (this.look) await this.renderer.setLook(this.look);
  }

  /** A canvas with the next drawn frame (unmirrored, with the look). */
  takePicture() {
    return new Promise((resolve, reject) => this.pictureWanted.push({ resolve, reject }));
  }

  /** The video's current frame copied into a canvas (kept for the next frames): held still where the
   * browser makes no VideoFrame it can track or draw. Tracking the video itself and then drawing it put
   * the look on a later picture than it was tracked on (the video goes on while a slow phone tracks). */
  still(video, width, height) {
    const canvas = (this.stillCanvas ??= document.createElement("canvas"));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    (this.stillContext ??= canvas.getContext("2d")).drawImage(video, 0, 0, width, height);
    return canvas;
  }

  step() {
    this.pending = undefined;
    if (!this.running) return;
    try {
      this.frame();
    } finally {
      this.lastStep = performance.now();
      this.schedule();
    }
  }

  frame() {
    const video = this.video, width = video.videoWidth, height = video.videoHeight;
    if (!width || !height || video.readyState < 2) return;
    if (!this.requestVideoFrame && video.currentTime === this.lastTime) return; // no new frame (rAF path)
    this.lastTime = video.currentTime;
    // A slow phone tracks a frame for a few hundred ms while the camera goes on: the look must be drawn
    // on the frame it was tracked on, not on the one the video shows by then (the face moved, or the
    // scene cut). One snapshot of the frame is tracked and drawn: a VideoFrame where the browser can
    // track and draw one, else a copy in a canvas.
    const frameHeld = this.snapshots ? snapshot(video) : null;
    const picture = frameHeld ?? this.still(video, width, height);
    const t0 = performance.now();
    let t1, faces;
    try {
      const detected = this.tracker.detect(picture, width, height, t0);
      t1 = performance.now();
      faces = this.stabilizer.update(t1 / 1000, width, height, detected);
      this.renderer.render(picture, faces, { intensity: this.intensity });
    } catch (error) {
      if (!frameHeld) throw error;
      this.snapshots = false; // a browser that cannot track or draw a VideoFrame: a canvas copy from now on
      return;
    } finally {
      frameHeld?.close();
    }
    const wanted = this.pictureWanted.splice(0);
    if (wanted.length) {
      const copy = document.createElement("canvas");
      copy.width = this.view.width;
      copy.height = this.view.height;
      copy.getContext("2d").drawImage(this.view, 0, 0);
      for (const { resolve } of wanted) resolve(copy);
    }
    const t2 = performance.now();
    this.stats.add(t1 - t0, t2 - t1, t2, faces.length);
    const extra = { width, height, delegate: this.tracker.delegate, look: this.look, intensity: this.intensity };
    if (!this.corner.hidden) this.corner.textContent = this.stats.text(extra);
    else this.stats.summary(extra);
    const slowMs = this.toldSlow ? null : this.stats.tooSlow(t2);
    if (slowMs !== null) {
      this.toldSlow = true;
      this.onSlow(slowMs);
    }
  }
}

/** The video's current frame, held still (WebCodecs' VideoFrame: the decoder's own picture, no copy);
 * null where none can be made yet. The caller closes it. */
function snapshot(video) {
  try {
    return new VideoFrame(video);
  } catch {
    return null;
  }
}
