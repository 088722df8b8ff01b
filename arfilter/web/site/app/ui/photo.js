// The photo a visitor keeps: the picture with the look as the camera saw it (not mirrored, so
// writing reads right), and the campaign's frame burnt in below it: caption and helpline on a band
// of the campaign's colour. Made on the phone with canvas 2D; shared or saved only when asked.

const RTL = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/; // Hebrew, Arabic, Syriac, Thaana, N'Ko ...
const LTR = /[A-Za-z\u00C0-\u024F\u0370-\u052F\u0900-\u0DFF\u0E00-\u0FFF\u3040-\u9FFF\uAC00-\uD7AF]/;

/** "rtl" when the first strong letter of `text` is written right to left (what dir="auto" decides). */
export function textDirection(text) {
  for (const char of text) {
    if (RTL.test(char)) return "rtl";
    if (LTR.test(char)) return "ltr";
  }
  return "ltr";
}

/** `text` broken into lines no wider than `width` in the context's current font. */
function wrap(ctx, text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(candidate).width > width) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The band's lines: [{text, size, weight}] for the caption and the helpline, fitted to `width`. */
function bandLines(ctx, campaign, width, unit) {
  const out = [];
  for (const [text, size, weight] of [[campaign.caption, 1.25, 700], [campaign.helpline, 1.0, 400]]) {
    if (!text) continue;
    ctx.font = `${weight} ${Math.round(size * unit)}px system-ui, sans-serif`;
    for (const line of wrap(ctx, text, width)) out.push({ text: line, size: Math.round(size * unit), weight });
  }
  return out;
}

/** A canvas holding `picture` (the rendered frame, unmirrored) with the campaign band below it. */
export function composePhoto(picture, campaign) {
  const width = picture.width, height = picture.height;
  const unit = Math.max(14, Math.round(Math.min(width, height) * 0.045));
  const measure = document.createElement("canvas").getContext("2d");
  const lines = bandLines(measure, campaign, width - 2 * unit, unit);
  const band = lines.length ? Math.round(lines.reduce((sum, l) => sum + l.size * 1.3, 0) + 1.6 * unit) : 0;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height + band;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(picture, 0, 0, width, height);
  if (!band) return canvas;
  ctx.fillStyle = campaign.barColor || "#5B2A86";
  ctx.fillRect(0, height, width, band);
  ctx.fillStyle = campaign.textColor || "#FFFFFF";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  let y = height + 0.8 * unit;
  for (const line of lines) {
    ctx.font = `${line.weight} ${line.size}px system-ui, sans-serif`;
    ctx.direction = textDirection(line.text);
    ctx.fillText(line.text, width / 2, y + line.size * 0.65);
    y += line.size * 1.3;
  }
  return canvas;
}

function toJpeg(canvas) {
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error("toBlob gave nothing"))), "image/jpeg", 0.92));
}

/** Share the photo (the phone's share sheet) where the browser can share files, else download it. */
export async function savePhoto(canvas, fileName, shareText) {
  const blob = await toJpeg(canvas);
  const file = new File([blob], fileName, { type: "image/jpeg" });
  if (navigator.canShare?.({ files: [file] })) {
    try {
      await navigator.share({ files: [file], text: shareText });
      return "shared";
    } catch (error) {
      if (error?.name === "AbortError") return "cancelled"; // the visitor closed the share sheet
      // another refusal (no user gesture left, a policy): fall through to a download
    }
  }
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return "downloaded";
}
