// Server-Sent Events read by hand: EventSource cannot send the API token as a bearer header, so the
// page reads GET /events with fetch() and this parser turns its text, in whatever pieces the
// network delivers it, into messages, as the HTML standard's "event stream interpretation" says.
// Pure: no I/O, no clock.

export interface SseMessage {
  /** The `event:` field; 'message' when the server gave none. */
  event: string;
  /** The `data:` lines joined with '\n'. */
  data: string;
  /** The last `id:` seen up to this message (ids persist from one message to the next), '' if none. */
  id: string;
}

export interface SseParser {
  /** Reads the next piece of the stream; answers the messages it completed. */
  push(chunk: string): SseMessage[];
  /** The last id the stream gave, also when no message followed it: what Last-Event-ID resends. */
  readonly lastEventId: string;
  /** The last valid `retry:` (milliseconds), if any. */
  readonly retry: number | undefined;
  /** How many comment lines (`: ...`, the heartbeats) have been read. */
  readonly comments: number;
}

export function createSseParser(): SseParser {
  // The part of the last line not yet ended by a line break.
  let pending = '';
  // A '\r' ended the previous chunk: a '\n' starting this one belongs to the same line break.
  let afterCr = false;
  let started = false;
  let data: string[] = [];
  let event = '';
  let lastEventId = '';
  let retry: number | undefined;
  let comments = 0;

  const line = (text: string, out: SseMessage[]) => {
    if (text === '') {
      if (data.length > 0) out.push({ event: event || 'message', data: data.join('\n'), id: lastEventId });
      data = [];
      event = '';
      return;
    }
    if (text.startsWith(':')) {
      comments++;
      return;
    }
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id') {
      if (!value.includes('\0')) lastEventId = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) retry = Number(value);
    }
    // Any other field is ignored, as the standard says.
  };

  return {
    push(chunk: string): SseMessage[] {
      const out: SseMessage[] = [];
      let text = chunk;
      if (!started && text.length > 0) {
        started = true;
        if (text.startsWith('\ufeff')) text = text.slice(1);
      }
      let from = 0;
      if (afterCr && text.startsWith('\n')) from = 1;
      afterCr = false;
      for (let i = from; i < text.length; i++) {
        const char = text.charCodeAt(i);
        if (char !== 10 && char !== 13) continue;
        line(pending + text.slice(from, i), out);
        pending = '';
        if (char === 13) {
          if (i + 1 === text.length) afterCr = true;
          else if (text.charCodeAt(i + 1) === 10) i++;
        }
        from = i + 1;
      }
      pending += text.slice(from);
      return out;
    },
    get lastEventId() {
      return lastEventId;
    },
    get retry() {
      return retry;
    },
    get comments() {
      return comments;
    },
  };
}
