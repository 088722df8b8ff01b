// The camera: asked for only when the visitor presses Start, front or back, never recorded.

/** Why getUserMedia failed, as a message code (messages.js). */
export function cameraProblem(error) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return window.isSecureContext ? "camera-refused" : "needs-https";
    case "NotFoundError":
    case "OverconstrainedError":
    case "DevicesNotFoundError":
      return "no-camera";
    case "NotReadableError":
    case "AbortError":
    case "TrackStartError":
      return "camera-busy";
    default:
      return navigator.mediaDevices?.getUserMedia ? "camera-busy" : "no-camera";
  }
}

/** Open the camera facing `facing` ("user" or "environment") into `video`; resolves when frames flow.
 * `onEnded`: called if the camera stops on its own (a phone call, another app taking it, unplugged). */
export async function openCamera(video, facing, onEnded = null) {
  if (!navigator.mediaDevices?.getUserMedia) {
    const error = new Error("no mediaDevices");
    error.name = window.isSecureContext ? "NotFoundError" : "SecurityError";
    throw error;
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    // A size the camera has (resizeMode none): Chrome would otherwise crop an upright 720x1280 camera
    // to 720x720 to come nearest 1280x720. Browsers that do not know resizeMode ignore it.
    video: { facingMode: { ideal: facing }, width: { ideal: 1280 }, height: { ideal: 720 }, resizeMode: { ideal: "none" } },
  });
  closeCamera(video);
  if (onEnded) for (const track of stream.getVideoTracks()) track.addEventListener("ended", onEnded, { once: true });
  video.srcObject = stream;
  await video.play();
  if (!video.videoWidth) await new Promise((resolve) => video.addEventListener("loadedmetadata", resolve, { once: true }));
  return stream;
}

export function closeCamera(video) {
  const stream = video.srcObject;
  if (stream) for (const track of stream.getTracks()) track.stop();
  video.srcObject = null;
}

/** How many cameras there are (known only once one was allowed); the switch shows when two or more. */
export async function cameraCount() {
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.filter((d) => d.kind === "videoinput").length;
  } catch {
    return 1;
  }
}
