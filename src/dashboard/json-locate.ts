// Where in a JSON text a field is, so that the spec editor can show the server's message for
// 'container.ports[0].host_port' next to the line that holds it, and where a text stops being
// JSON. JSON.parse says neither (its error messages differ between browsers), so this reads the
// text itself, noting where each key and value starts. Pure.
import { shown } from '../spec/shown.ts';

export interface TextPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units as an editor counts them. */
  column: number;
  offset: number;
}

export interface FieldLocation extends TextPosition {
  /** False when the field itself is not in the text (a required field left out): then the nearest enclosing one. */
  exact: boolean;
}

export class JsonSyntaxError extends Error {
  readonly position: TextPosition;
  constructor(message: string, position: TextPosition) {
    super(`${message} at line ${position.line}, column ${position.column}`);
    this.position = position;
  }
}

type Node =
  | { kind: 'object'; start: number; members: Array<{ key: string; keyStart: number; value: Node }> }
  | { kind: 'array'; start: number; items: Node[] }
  | { kind: 'scalar'; start: number };

/** The line and column of `offset` in `text`; \r\n, \r and \n each end a line. */
export function positionAt(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1, offset };
}

function parse(text: string): Node {
  let i = 0;
  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, positionAt(text, i));
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const what = () => (i >= text.length ? 'the end of the text' : `'${text[i]}'`);
  const string = (): string => {
    const start = i;
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) {
        i = start;
        fail('a string is not closed');
      }
      const c = text[i]!;
      if (c === '"') break;
      if (c.charCodeAt(0) < 0x20) fail('a control character (a line break?) inside a string; write it as \\n');
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('a \\u escape needs four hexadecimal digits');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
          continue;
        }
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e === undefined || simple[e] === undefined) {
          i++;
          fail('not a valid escape');
        }
        out += simple[e!];
        i += 2;
        continue;
      }
      out += c;
      i++;
    }
    i++;
    return out;
  };
  const value = (depth: number): Node => {
    if (depth > 512) fail('nested too deep');
    space();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const members: Array<{ key: string; keyStart: number; value: Node }> = [];
      space();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', start, members };
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail(`expected a key in double quotes, found ${what()}`);
        const keyStart = i;
        const key = string();
        space();
        if (text[i] !== ':') fail(`expected ':' after the key "${shown(key)}", found ${what()}`);
        i++;
        members.push({ key, keyStart, value: value(depth + 1) });
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', start, members };
        }
        fail(`expected ',' or '}' after a value, found ${what()}`);
      }
    }
    if (c === '[') {
      i++;
      const items: Node[] = [];
      space();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', start, items };
      }
      for (;;) {
        items.push(value(depth + 1));
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', start, items };
        }
        fail(`expected ',' or ']' after a value, found ${what()}`);
      }
    }
    if (c === '"') {
      string();
      return { kind: 'scalar', start };
    }
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!literal) fail(`expected a value, found ${what()}`);
    i += literal![0].length;
    return { kind: 'scalar', start };
  };
  const root = value(0);
  space();
  if (i < text.length) fail(`expected the end of the text after the value, found ${what()}`);
  return root;
}

/** The syntax error in `text`, with where it is; undefined when the text is JSON. */
export function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  try {
    parse(text);
    return undefined;
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
}

/**
 * Where the field that an error path names ("container.ports[0].host_port", as the server writes
 * it) is in `text`: the start of its key (of its value, for an array item). A field that the text
 * lacks gives the nearest enclosing field that it has, not exact; '' or a text that is not JSON
 * gives undefined. Keys are compared as the server shows them (cut short, controls escaped), and
 * a key may hold '.' or '[': each key of an object is tried against the rest of the path.
 */
export function locateField(text: string, path: string): FieldLocation | undefined {
  if (path === '') return undefined;
  let node: Node;
  try {
    node = parse(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return undefined;
    throw error;
  }
  const found = walk(node, path, true, node.start);
  return { ...positionAt(text, found.at), exact: found.left === 0 };
}

/** Follows `rest` of the path from `node`: where it got to, and how much of the path it could not follow. */
function walk(node: Node, rest: string, first: boolean, at: number): { at: number; left: number } {
  if (rest === '') return { at, left: 0 };
  let best = { at, left: rest.length };
  const consider = (found: { at: number; left: number }) => {
    if (found.left < best.left) best = found;
  };
  if (node.kind === 'array') {
    const index = /^\[(\d+)\]/.exec(rest);
    const item = index ? node.items[Number(index[1])] : undefined;
    if (index && item) consider(walk(item, rest.slice(index[0].length), false, item.start));
  } else if (node.kind === 'object') {
    const body = first ? rest : rest.startsWith('.') ? rest.slice(1) : undefined;
    // From the last member: of equal keys, JSON.parse keeps the last.
    for (let m = node.members.length - 1; body !== undefined && m >= 0 && best.left > 0; m--) {
      const member = node.members[m]!;
      const key = shown(member.key);
      const next = body[key.length];
      if (body.startsWith(key) && (next === undefined || next === '.' || next === '[')) {
        consider(walk(member.value, body.slice(key.length), false, member.keyStart));
      }
    }
  }
  return best;
}
