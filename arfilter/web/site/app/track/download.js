// The two big files a visitor waits for (MediaPipe's WebAssembly, 13 MB, and the face model, 2.8 MB),
// fetched by the page itself so it can say how far along they are: on a phone's mobile data that is
// ten seconds or more, and a button that only says "Starting…" for that long looks broken.
// Same origin only, like everything else; the browser's HTTP cache makes a second visit instant.

/** Bytes of `url`, calling `onBytes(received, total)` as they arrive (total 0: not known). Returns {bytes, total}. */
async function fetchCounting(url, onBytes) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const total = Number(response.headers.get("Content-Length")) || 0;
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes.length, total);
    return { bytes, total: total || bytes.length };
  }
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onBytes(received, total);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, total: total || received };
}

/**
 * Fetch `urls` together; `onProgress(fraction)` (0-1) as bytes arrive, over all of them. Sizes not
 * known up front (no Content-Length) count as `guesses[i]` bytes until they are.
 * Returns their bytes, in order.
 */
export async function fetchAll(urls, guesses, onProgress = () => {}) {
  const received = urls.map(() => 0);
  const totals = [...guesses];
  const report = () => {
    const expected = totals.reduce((a, b) => a + b, 0);
    onProgress(expected > 0 ? Math.min(received.reduce((a, b) => a + b, 0) / expected, 1) : 0);
  };
  const results = await Promise.all(urls.map((url, i) => fetchCounting(url, (bytes, total) => {
    received[i] = bytes;
    if (total > 0) totals[i] = total;
    report();
  }).then((result) => {
    received[i] = totals[i] = result.bytes.length;
    report();
    return result.bytes;
  })));
  return results;
}
