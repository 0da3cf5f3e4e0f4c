// Text that reaches a terminal. Names, reasons, hosts and error messages come from container labels,
// the Engine or the server, which anyone with Docker access (or a hostile server) controls: raw, an
// ESC or C1 sequence could rewrite the screen or the title, and a bidi override could reorder what
// the reader sees. Every such character is shown escaped instead.
import { Document, visit } from 'yaml';

/**
 * What is escaped: C0, DEL and C1 controls, lone surrogates, format characters (bidi embeddings,
 * overrides, isolates and marks, zero-width spaces, BOM...) and the line and paragraph separators.
 * The zero-width joiners (U+200C, U+200D) stay: scripts and emoji sequences need them, and they
 * neither move the cursor nor reorder text.
 */
const UNSAFE = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, '0');
}

/** One unsafe character as printable ASCII: \n \r \t, \xHH below U+0100, \uHHHH, or \u{HHHHH}. */
function escapeChar(char: string): string {
  const short = SHORT[char];
  if (short !== undefined) return short;
  const code = char.codePointAt(0)!;
  if (code <= 0x7f) return `\\x${hex(code, 2)}`;
  if (code <= 0xffff) return `\\u${hex(code, 4)}`;
  return `\\u{${hex(code, 5)}}`;
}

/**
 * `text` with every unsafe character written as an escape (see escapeChar), and a backslash as
 * `\\`, so that what is printed reads back unambiguously. With `keepNewlines`, a newline stays a
 * line break (for text of several lines, such as a stack trace or a proxy's error page).
 */
export function escapeText(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(/\\/g, '\\\\').replace(UNSAFE, (char) => (options.keepNewlines && char === '\n' ? char : escapeChar(char)));
}

/**
 * JSON.stringify, with every unsafe character that it leaves raw (DEL, C1, format characters,
 * separators) written as a \uXXXX escape: the same JSON value once parsed, but harmless on a
 * terminal. Those characters can only stand inside strings of the output, where \uXXXX means them
 * (JSON.stringify escapes every C0 control inside strings: a raw newline is the indentation's).
 */
export function safeJson(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent);
  // undefined for a value that JSON has no text for: a caller's mistake, not a remote's.
  if (json === undefined) return 'null';
  return json.replace(UNSAFE, (char) => {
    if (char === '\n') return char;
    let out = '';
    for (let i = 0; i < char.length; i++) out += `\\u${hex(char.charCodeAt(i), 4)}`;
    return out;
  });
}

/**
 * YAML of `value`, harmless on a terminal as safeJson is: every string that holds an unsafe
 * character is written double-quoted, where YAML reads \uXXXX (and \n, \t...) as the character,
 * so the escapes that replace those characters read back as the same value.
 */
export function safeYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && new RegExp(UNSAFE.source, 'u').test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 }).replace(UNSAFE, (char) => {
    if (char === '\n') return char;
    let out = '';
    for (let i = 0; i < char.length; i++) out += `\\u${hex(char.charCodeAt(i), 4)}`;
    return out;
  });
}

/** Text checked for the terminal: made only by `line` (escaping what goes in) or `verbatim`. */
export class TerminalText {
  readonly text: string;
  private constructor(text: string) {
    this.text = text;
  }

  /** Text that is safe as it is (JSON from safeJson, text already escaped). */
  static verbatim(text: string): TerminalText {
    return new TerminalText(text);
  }

  /**
   * A template whose every value is escaped as one line (newlines included), except values that
   * are TerminalText already: `line\`hpctl: ${name} FAILED: ${reason}\``.
   */
  static line(strings: TemplateStringsArray, ...values: unknown[]): TerminalText {
    let text = strings[0]!;
    values.forEach((value, i) => {
      text += (value instanceof TerminalText ? value.text : escapeText(String(value))) + strings[i + 1]!;
    });
    return new TerminalText(text);
  }
}

/** TerminalText.line, as a tag of its own. */
export const line = (strings: TemplateStringsArray, ...values: unknown[]): TerminalText => TerminalText.line(strings, ...values);
