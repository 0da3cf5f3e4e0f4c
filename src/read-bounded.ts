// Reading a file or a stream whole, up to a bound: what the commands read whole (a config, a spec,
// a secret's value) may be a device or a pipe with no size to check first (/dev/zero, a log that
// grows, `<(...)`), so the bound is checked as the bytes come.

/** All of `chunks` as bytes, or undefined once they pass `max` bytes (the rest left unread, the stream closed). */
export async function readAtMost(chunks: AsyncIterable<Uint8Array | string>, max: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    size += bytes.length;
    if (size > max) return undefined;
    parts.push(bytes);
  }
  return Buffer.concat(parts);
}
