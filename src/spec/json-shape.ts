// A look at a JSON body's shape before it is parsed: how many items and how deep. Parsing a
// megabyte of tiny values builds an object graph ten times its size, so a spec with far more
// values than any spec within the limits can hold is refused on its text alone.
import { HydroplaneError } from '../errors.ts';
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-syntax.ts';

/** Items (array items and object fields, counted as the commas between them) and containers. */
export const JSON_ITEMS_MAX = 20_000;
/** How deep arrays and objects nest; a spec nests 5 deep (container.env[].value.secret_name). */
export const JSON_DEPTH_MAX = 32;

/**
 * What is wrong with the shape of `text`, or undefined: more than `itemsMax` items and containers,
 * or nesting deeper than `depthMax`. Reads each character once and allocates nothing; text that is
 * not JSON is left to the parser.
 */
export function jsonShapeProblem(text: string, itemsMax = JSON_ITEMS_MAX, depthMax = JSON_DEPTH_MAX): string | undefined {
  let items = 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Past the string: to the next quote that no odd run of backslashes escapes.
      for (;;) {
        const end = text.indexOf('"', i + 1);
        if (end < 0) return undefined;
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
        i = end;
        if (slashes % 2 === 0) break;
      }
    } else if (c === COMMA) {
      if (++items > itemsMax) return tooMany(itemsMax);
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > depthMax) return `arrays and objects nested more than ${depthMax} deep; a spec nests 5 deep`;
      if (++items > itemsMax) return tooMany(itemsMax);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return undefined;
}

function tooMany(itemsMax: number): string {
  return `more than ${itemsMax.toLocaleString('en-US')} values (array items, fields and objects); a spec within every limit has about 11,000 at most`;
}

/** The refusal of a process spec whose text has too many values or nests too deep, or undefined. */
export function specShapeError(text: string): HydroplaneError | undefined {
  const problem = jsonShapeProblem(text);
  return problem === undefined
    ? undefined
    : new HydroplaneError('invalid_spec', `invalid process spec: ${problem}`, { fields: [{ path: '', message: problem }] });
}
