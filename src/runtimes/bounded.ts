// Work over many items with a bounded number in flight: what a group stop of a thousand processes
// sends to the Engine or the API server at once. Each call in flight holds a connection (a file
// descriptor in the server and one in the Engine) and a place in the backend's queue; past a few
// dozen, more in flight only queue there (bench/README.md measures it) and run into descriptor limits.
/** Calls in flight for the work of one request over many processes (a group stop), per runtime. */
export const GROUP_CONCURRENCY = 16;

/**
 * Runs `work` over `items`, at most `limit` at a time, in order; settles every one, as
 * Promise.allSettled does, so that one failure neither stops the rest nor leaves them unawaited.
 */
export async function settleBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<Array<PromiseSettledResult<R>>> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a whole number of at least 1, got ${limit}`);
  const results: Array<PromiseSettledResult<R>> = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await work(items[i]!) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
