// How many runtime event feeds the server holds open at once: GET /events streams and the waits of
// GET /process/{name}?wait=running both follow one. Each is a connection to the runtime with its
// file descriptors for as long as its client stays, so a bound (the config's max_event_streams)
// keeps one client from exhausting them: a stream past it is refused, a wait polls instead.
export class FeedSlots {
  readonly limit: number;
  #open = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Takes a slot if one is free; the taker gives it back with the function returned, once. */
  take(): (() => void) | undefined {
    if (this.#open >= this.limit) return undefined;
    this.#open++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#open--;
    };
  }
}
