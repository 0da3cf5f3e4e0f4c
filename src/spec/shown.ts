// A value from a request as a message shows it: short, and with nothing a terminal or a log
// would act on. Requests can carry megabytes of anything, and messages repeat what they name.

/** The longest a value from a request appears in a message, escapes included. */
export const SHOWN_MAX = 40;

// C0, DEL and C1 controls, line and paragraph separators, and the invisible characters that
// reorder or hide text (bidirectional embeddings, overrides, isolates and marks, zero-width space,
// word joiner, BOM): a message must read as it is. The zero-width joiners stay: emoji need them.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');

const escapeOne = (char: string): string => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` with control and invisible formatting characters escaped as \uXXXX, whatever its length. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, escapeOne);
}

/** `text` with control and invisible formatting characters escaped, cut to `max` characters and '…'. */
export function shown(text: string, max = SHOWN_MAX): string {
  let out = '';
  for (const char of text.length > max * 2 ? text.slice(0, max * 2) : text) {
    const piece = CONTROL.test(char) ? escapeOne(char) : char;
    if (out.length + piece.length > max) return `${out}…`;
    out += piece;
  }
  return text.length > max * 2 ? `${out}…` : out;
}
