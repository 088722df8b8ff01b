// Every problem a visitor can meet, said in one line they can act on. The element carries the
// problem's code (data-code) so the page's look can change with it and tests can tell them apart.

export const MESSAGES = Object.freeze({
  "camera-refused": "The camera was refused. Allow the camera for this page in your browser's settings, then press Start again.",
  "no-camera": "No camera was found. Use a phone or a computer with a camera.",
  "camera-stopped": "The camera stopped (a call or another app may have taken it). Press Start to go on.",
  "camera-busy": "The camera is busy in another app. Close that app, then press Start again.",
  "needs-https": "The camera only works on a secure page: open this page with https:// (or at http://localhost).",
  "no-webgl2": "This browser cannot draw the look: WebGL2 is missing or turned off. Try a current Chrome, Edge, Firefox or Safari.",
  "no-simd": "This browser is too old to track faces (no WebAssembly SIMD). Update it, or try a current Chrome, Edge, Firefox or Safari.",
  "too-slow": "This device is too slow for the look ({ms} ms a frame). Close other apps and tabs, or try a newer browser.",
  "load-failed": "The face tracker could not load. Reload the page; if it fails again, try a current browser.",
  "photo-failed": "The photo could not be saved. Try again.",
});

/** Show the message `code` (with `{name}` filled from `values`), or hide it with null. */
export function showMessage(element, code, values = {}) {
  if (code === null) {
    element.hidden = true;
    element.textContent = "";
    delete element.dataset.code;
    return;
  }
  const text = MESSAGES[code] ?? MESSAGES["load-failed"];
  element.textContent = text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  element.dataset.code = code;
  element.hidden = false;
}
