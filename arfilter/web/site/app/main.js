// The campaign page: a visitor presses Start, their phone tracks their face and draws the look on
// it, and they may save or share a photo. Everything happens on the phone: the page asks its own
// site for the model and the looks, and nothing else, ever (see the Content-Security-Policy).

import { loadAssets, FaceRenderer } from "./render/renderer.js";
import { FaceStabilizer } from "./track/smoothing.js";
import { missingFeature } from "./ui/support.js";
import { showMessage } from "./ui/messages.js";
import { cameraProblem, openCamera, closeCamera, cameraCount } from "./ui/camera.js";
import { lookOrder, lookButtons, intensitySlider, speedToggle } from "./ui/controls.js";
import { composePhoto, savePhoto } from "./ui/photo.js";
import { FrameStats } from "./ui/stats.js";
import { FrameLoop } from "./loop.js";

const SITE = new URL("../", import.meta.url);
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

/** The event's texts on the page as real text (every script renders), and its colours. */
function showCampaign(event) {
  if (event.title) {
    $("title").textContent = event.title;
    document.title = event.title;
  }
  $("caption").textContent = event.caption ?? "";
  $("helpline").textContent = event.helpline ?? "";
  if (/^https?:\/\//i.test(event.help_url ?? "")) {
    $("help-link").href = event.help_url;
    $("help").hidden = false;
  }
  $("campaign").hidden = !(event.caption || event.helpline || !$("help").hidden);
  if (event.lang) for (const id of ["caption", "helpline", "title"]) $(id).lang = event.lang;
  const bar = event.bar_color ?? event.barColor, text = event.caption_color ?? event.captionColor;
  if (/^#[0-9a-f]{6}$/i.test(bar ?? "")) document.documentElement.style.setProperty("--campaign", bar);
  if (/^#[0-9a-f]{6}$/i.test(text ?? "")) document.documentElement.style.setProperty("--on-campaign", text);
}

async function fetchJson(path) {
  const response = await fetch(new URL(path, SITE));
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

/** Load the tracker (only when asked: 16 MB the visitor may never need), saying how far along it is. */
async function loadTracker(onProgress) {
  const { Tracker } = await import("./track/tracker.js");
  const asked = (params.get("delegate") ?? "").toUpperCase(); // ?delegate=cpu|gpu: for a device that misjudges
  return Tracker.create(["CPU", "GPU"].includes(asked) ? asked : "auto", onProgress);
}

function fail(code, values) {
  showMessage($("message"), code, values);
}

/** Wire the controls to a running loop. */
function wireControls(loop, assets, event) {
  const { order, first } = lookOrder(assets.looks, event);
  const mark = lookButtons($("looks"), order, async (name) => {
    mark(name);
    await loop.setLook(name);
  });
  mark(first);
  intensitySlider($("intensity"), $("intensity-value"), Number(event.intensity ?? 1.0), (v) => { loop.intensity = v; });
  $("photo").addEventListener("click", async () => {
    $("photo").disabled = true;
    try {
      const picture = await loop.takePicture();
      const campaign = { caption: event.caption, helpline: event.helpline,
        barColor: event.bar_color ?? event.barColor, textColor: event.caption_color ?? event.captionColor };
      const name = `${(event.title || "look").replace(/[^\p{L}\p{N}]+/gu, "-").replace(/^-|-$/g, "") || "look"}-photo.jpg`;
      await savePhoto(composePhoto(picture, campaign), name, [event.caption, event.url].filter(Boolean).join(" "));
    } catch (error) {
      console.error(error);
      fail("photo-failed");
    } finally {
      $("photo").disabled = false;
    }
  });
  $("flip").addEventListener("click", async () => {
    $("flip").disabled = true;
    try {
      await loop.switchCamera();
    } catch (error) {
      fail(cameraProblem(error));
    } finally {
      $("flip").disabled = false;
    }
  });
  return first;
}

/** A phone may take the GPU from a page (in the background, under memory pressure) and give it back:
 * every texture and program is gone then, so the loop pauses and draws on with a new renderer. */
function keepDrawingAfterContextLoss(loop, assets) {
  const view = $("view");
  view.addEventListener("webglcontextlost", (lost) => {
    lost.preventDefault(); // says we will rebuild: without it the browser never gives the context back
    loop.stop();
  });
  view.addEventListener("webglcontextrestored", async () => {
    try {
      await loop.renew(new FaceRenderer(view, assets));
      loop.start(loop.facing);
    } catch (error) {
      console.error(error);
      fail("load-failed");
    }
  });
}

let live = null; // the running loop, once Start has worked: pressing Start again only reopens the camera

/** The Start button while the camera and the looks start (a second tap then does nothing). */
function buttonStarting(button) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = "Starting…";
}

/** The Start button at rest, ready for a tap. */
function buttonReady(button) {
  button.disabled = false;
  button.removeAttribute("aria-busy");
  button.textContent = "Start the camera";
}

/** The camera stopped on its own: say so, and let Start bring it back (the look, the controls, the
 * loaded tracker stay as they are). */
function cameraStopped(loop) {
  loop.stop();
  closeCamera($("camera"));
  buttonReady($("start"));
  $("start-panel").hidden = false;
  fail("camera-stopped");
}

async function reopen(loop) {
  $("start").disabled = true;
  showMessage($("message"), null);
  try {
    await loop.reopen();
  } catch (error) {
    $("start").disabled = false;
    return fail(cameraProblem(error));
  }
  $("start-panel").hidden = true;
}

// why: the start sequence in order, each step with the one message its failure deserves
async function start(assets, event) {
  const button = $("start"); // already starting (startWhenLoaded)
  showMessage($("message"), null);
  // Downloads while the visitor answers the camera prompt; the button says how far it has got.
  const trackerLoading = loadTracker((fraction) => {
    if (button.disabled) button.textContent = fraction < 1 ? `Loading… ${Math.floor(fraction * 100)} %` : "Starting…";
  });
  trackerLoading.catch(() => {}); // its failure is reported below, after the camera's
  const video = $("camera");
  const reset = () => buttonReady(button);
  const ended = () => live && cameraStopped(live);
  try {
    await openCamera(video, "user", ended);
  } catch (error) {
    reset();
    return fail(cameraProblem(error));
  }
  let renderer;
  try {
    renderer = new FaceRenderer($("view"), assets);
  } catch (error) {
    closeCamera(video);
    reset();
    return fail(error?.code === "no-webgl2" ? "no-webgl2" : "load-failed");
  }
  let tracker;
  try {
    tracker = await trackerLoading;
  } catch (error) {
    console.error(error);
    closeCamera(video);
    reset();
    return fail("load-failed");
  }
  const stats = new FrameStats();
  const loop = new FrameLoop({ video, view: $("view"), tracker, renderer, stabilizer: new FaceStabilizer(), stats,
    corner: $("fps"), onSlow: (ms) => fail("too-slow", { ms: Math.round(ms) }), onCameraEnded: ended });
  window.arfilterStats = stats.public;
  keepDrawingAfterContextLoss(loop, assets);
  const first = wireControls(loop, assets, event);
  await loop.setLook(first);
  $("start-panel").hidden = true;
  $("controls").hidden = false;
  $("flip").hidden = (await cameraCount()) < 2;
  loop.start("user");
  live = loop;
}

async function main() {
  speedToggle($("speed"), $("fps"), params.get("fps") === "1");
  if (params.get("testhook") === "1") import("./render/testhook.js"); // the renderer's parity hook (tests)
  const missing = missingFeature();
  if (missing) {
    $("start").disabled = true;
    fail(missing);
  }
  const loaded = Promise.all([fetchJson("data/event.json"), loadAssets(SITE.href)]);
  loaded.catch(() => {}); // reported below
  // Listening at once: on a slow connection a tap before the looks have arrived starts the camera once they have.
  if (!missing) $("start").addEventListener("click", () => (live ? reopen(live) : startWhenLoaded(loaded)));
  let event;
  try {
    [event] = await loaded;
  } catch (error) {
    console.error(error);
    buttonReady($("start"));
    $("start").disabled = true; // nothing to start without the page's own files
    return fail(missing ?? "load-failed");
  }
  showCampaign(event);
}

// why: a tap is never lost: it waits for the page's own files (the event, the looks), then starts
async function startWhenLoaded(loaded) {
  const button = $("start");
  if (button.disabled) return; // a second tap while the first is starting
  buttonStarting(button);
  let event, assets;
  try {
    [event, assets] = await loaded;
  } catch {
    return; // main() says the page could not load
  }
  await start(assets, event);
}

main();
