// The characters of JSON's structure, as UTF-16 code units and UTF-8 bytes alike (all ASCII), for
// the scanners that read a JSON text's structure without parsing it: json-shape.ts (a body's size
// before it is parsed) and runtimes/docker/json-array-stream.ts (an Engine's list as it arrives).
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const OPEN_BRACE = 0x7b;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACE = 0x7d;
export const CLOSE_BRACKET = 0x5d;
