// The Engine's log stream. A container without a TTY sends stdout and stderr multiplexed: each
// frame is an 8-byte header (stream type, 3 zero bytes, big-endian payload size) then the payload
// (https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerAttach).
// A container with a TTY sends the raw bytes.
import { TextDecoder } from 'node:util';

/** Text chunks from a multiplexed stream, each stream decoded on its own so that a character split across frames survives. */
export async function* demultiplexedText(source: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoders = new Map<number, TextDecoder>();
  const decoderOf = (type: number) => {
    let d = decoders.get(type);
    if (!d) decoders.set(type, (d = new TextDecoder()));
    return d;
  };
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let text = '';
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      text += decoderOf(pending[0]!).decode(pending.subarray(8, 8 + size), { stream: true });
      pending = pending.subarray(8 + size);
    }
    if (text !== '') yield text;
  }
  let rest = '';
  for (const d of decoders.values()) rest += d.decode();
  if (rest !== '') yield rest;
}
