// Turns a schema's verdict into the contract's error: the offending fields with their paths, and
// for an unknown field, where it belongs when it is a known field in the wrong place. A request
// can hold a hundred thousand problems: the answer names the first few and counts the rest, and
// every value it repeats is cut short and escaped (shown()).
import type { z } from 'zod';
import { HydroplaneError, type ErrorCode, type FieldProblem } from '../errors.ts';
import { shown } from './shown.ts';

type Path = readonly PropertyKey[];

/** The most problems an answer names; one more entry counts the rest. */
export const MAX_PROBLEMS = 20;
/** The longest message of one problem. */
const MESSAGE_MAX = 200;
/** About the longest list of problems in an error's details; `fields` has each of them. */
const DETAILS_MAX = 1500;

export function formatPath(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? shown(String(part)) : `.${shown(String(part))}`;
  }
  return out;
}

/** Validates `raw` against `schema`; throws a HydroplaneError naming the first problems and counting the rest. */
export function parseOrThrow<S extends z.ZodType>(schema: S, raw: unknown, what: { code?: ErrorCode; subject: string }): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  throw invalid(schema, result.error.issues, raw, what);
}

function invalid(
  schema: z.ZodType,
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  what: { code?: ErrorCode; subject: string },
): HydroplaneError {
  const { problems, more } = firstProblems(schema, issues, input);
  const fields = more > 0 ? [...problems, { path: '', message: moreProblems(more) }] : problems;
  return new HydroplaneError(what.code ?? 'invalid_spec', `invalid ${what.subject}: ${summarize(problems, more)}`, { fields });
}

/**
 * Kubernetes' field validation: what becomes of unknown or misplaced fields. Strict refuses them,
 * Warn drops them and reports each, Ignore drops them silently. Every other problem is refused.
 */
export const FIELD_VALIDATION = ['Strict', 'Warn', 'Ignore'] as const;
export type FieldValidation = (typeof FIELD_VALIDATION)[number];

/** Unknown fields nested in a field that was itself unknown are dropped with it; a few rounds reach any depth a union hides. */
const DROP_ROUNDS = 4;

/**
 * Validates `raw` as parseOrThrow does, except that with Warn or Ignore an unknown or misplaced
 * field is dropped instead of refused. With Warn, `warnings` says what was dropped, in the
 * words of Strict's 422 ("path: unknown field here; 'x' belongs in 'container'"): at most
 * MAX_PROBLEMS of them, then one that counts the rest. `raw` itself is never changed.
 */
export function parseWithFieldValidation<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  mode: FieldValidation,
  what: { code?: ErrorCode; subject: string },
): { value: z.output<S>; warnings: string[] } {
  if (mode === 'Strict') return { value: parseOrThrow(schema, raw, what), warnings: [] };
  let input = raw;
  const warnings: string[] = [];
  let more = 0;
  for (let round = 0; round < DROP_ROUNDS; round++) {
    const result = schema.safeParse(input);
    if (result.success) return { value: result.data, warnings: withCount(warnings, more) };
    const unknown = result.error.issues.flatMap(fromTheBranchMeant).filter((i) => i.code === 'unrecognized_keys');
    if (unknown.length === 0) throw invalid(schema, result.error.issues, input, what);
    if (input === raw) input = structuredClone(raw);
    for (const issue of unknown) {
      const parent = valueAt(input, issue.path);
      for (const key of issue.keys) {
        if (mode === 'Warn' && warnings.length < MAX_PROBLEMS) {
          warnings.push(`${formatPath([...issue.path, key])}: ${unknownFieldMessage(schema, issue.path, key, parent)}`);
        } else more++;
      }
      if (typeof parent === 'object' && parent !== null) for (const key of issue.keys) delete (parent as Record<string, unknown>)[key];
    }
  }
  return { value: parseOrThrow(schema, input, what), warnings: withCount(warnings, more) };
}

function withCount(warnings: string[], more: number): string[] {
  return more > 0 && warnings.length > 0 ? [...warnings, moreProblems(more)] : warnings;
}

/**
 * The problems of `issues`, at most MAX_PROBLEMS of them and then one entry (path '') that counts
 * the rest. `input` is what was validated: where a discriminated union holds a field, it says which branch.
 */
export function describeIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], input?: unknown): FieldProblem[] {
  const { problems, more } = firstProblems(schema, issues, input);
  return more > 0 ? [...problems, { path: '', message: moreProblems(more) }] : problems;
}

/** The first MAX_PROBLEMS problems, and how many more there are. */
function firstProblems(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], input: unknown): { problems: FieldProblem[]; more: number } {
  const problems: FieldProblem[] = [];
  let more = 0;
  for (const issue of issues.flatMap(fromTheBranchMeant)) {
    if (issue.code === 'unrecognized_keys') {
      const named = Math.min(issue.keys.length, MAX_PROBLEMS - problems.length);
      for (const key of issue.keys.slice(0, named)) {
        problems.push({
          path: formatPath([...issue.path, key]),
          message: unknownFieldMessage(schema, issue.path, key, valueAt(input, issue.path)),
        });
      }
      more += issue.keys.length - named;
    } else if (problems.length === MAX_PROBLEMS) {
      more++;
    } else if (issue.code === 'invalid_type') {
      // Zod leaves the value out of its issues; a missing value and a value of the wrong type
      // need different words.
      const value = valueAt(input, issue.path);
      const message =
        value === undefined
          ? 'is required'
          : typeof value === 'number' && !Number.isFinite(value) && issue.expected === 'number'
            ? `expected a finite number, got ${String(value)}`
            : `expected ${withArticle(issue.expected)}, got ${kindOf(value)}`;
      problems.push({ path: formatPath(issue.path), message });
    } else {
      problems.push({ path: formatPath(issue.path), message: shown(issue.message, MESSAGE_MAX) });
    }
  }
  return { problems, more };
}

/**
 * A union's problem as the one branch of the right type sees it: "must be at most 65536
 * characters" for a long env value rather than "Invalid input". Zod does this itself, except
 * where that branch stopped at its first problem (a length limit stops a string's checks).
 */
function fromTheBranchMeant(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const typed = issue.errors.filter(
    (branch) => !branch.every((i) => (i.code === 'invalid_type' || i.code === 'invalid_value') && i.path.length === 0),
  );
  if (typed.length !== 1 || typed[0]!.length === 0) return [issue];
  return typed[0]!.map((i) => ({ ...i, path: [...issue.path, ...i.path] })).flatMap(fromTheBranchMeant);
}

/** The problems in one line of about DETAILS_MAX characters at most, counting those it leaves out. */
function summarize(problems: readonly FieldProblem[], more: number): string {
  const parts: string[] = [];
  let length = 0;
  for (const f of problems) {
    const part = f.path ? `${f.path}: ${f.message}` : f.message;
    if (parts.length > 0 && length + part.length > DETAILS_MAX) break;
    parts.push(part);
    length += part.length + 2;
  }
  const left = problems.length - parts.length + more;
  return left > 0 ? `${parts.join('; ')}; ${moreProblems(left)}` : parts.join('; ');
}

function moreProblems(n: number): string {
  return `… and ${n.toLocaleString('en-US')} more problem${n === 1 ? '' : 's'}`;
}

function unknownFieldMessage(schema: z.ZodType, parentPath: Path, key: string, parent: unknown): string {
  const places = fieldPlaces(schema).get(key);
  const here = formatPath(parentPath.map((p) => (typeof p === 'number' ? 0 : p))).replace(/\[0\]/g, '[]');
  if (places && !places.includes(here)) {
    const where = places.map((p) => (p === '' ? 'at the top level' : `in '${p}'`)).join(' or ');
    return `unknown field here; '${shown(key)}' belongs ${where}`;
  }
  const branch = chosenBranch(schemasAt(schema, parentPath), parent);
  const siblings = objectKeysAt(schema, parentPath, parent);
  const near = siblings.filter((s) => s !== key && Math.abs(s.length - key.length) <= 2 && editDistance(s, key) <= 2);
  if (near.length > 0) return `unknown field; did you mean '${near[0]}'?`;
  // A field of another branch of the union: runtime.cluster_name with runtime_type gke, say.
  const unknown = branch ? `unknown field for ${branch.discriminator} '${branch.value}'` : 'unknown field';
  return siblings.length > 0 ? `${unknown}; expected one of: ${siblings.join(', ')}` : `${unknown}; none is expected here`;
}

function withArticle(type: string): string {
  const names: Record<string, string> = { object: 'an object (of key: value)', array: 'a list', int: 'a whole number', number: 'a number' };
  return names[type] ?? (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
}

/**
 * What a value is, said briefly: "a number (5)", "a list", "text". Text is never quoted: a secret
 * written where a reference to it belongs (api_token: "...", password: "...") must not end up in
 * an answer or a log.
 */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'text';
    case 'number':
    case 'bigint':
      return `a number (${String(value)})`;
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    case 'undefined':
    case 'function':
    case 'symbol':
      break;
  }
  return typeof value;
}

function valueAt(input: unknown, path: Path): unknown {
  let value = input;
  for (const part of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[part] : undefined;
  return value;
}

/** The branch of a discriminated union among `schemas` that the input's discriminator picks, if any. */
function chosenBranch(
  schemas: readonly z.core.$ZodType[],
  input: unknown,
): { discriminator: string; value: string; option: z.core.$ZodType } | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  for (const schema of schemas) {
    const def = unwrap(schema)._zod.def as unknown as Record<string, unknown>;
    const discriminator = def['discriminator'];
    if (def['type'] !== 'union' || typeof discriminator !== 'string') continue;
    const value = (input as Record<string, unknown>)[discriminator];
    for (const option of def['options'] as z.core.$ZodType[]) {
      const shape = (unwrap(option)._zod.def as unknown as { shape?: Record<string, z.core.$ZodType> }).shape;
      const tag = shape?.[discriminator]?._zod.def as unknown as { type: string; values?: unknown[] } | undefined;
      if (tag?.type === 'literal' && tag.values?.includes(value)) return { discriminator, value: String(value), option };
    }
  }
  return undefined;
}

/**
 * Steps through wrappers (optional, default, pipe, ...) to the schema that holds the shape: a
 * pipe's input side, but past a preprocess (such as a size limit) to the schema it guards.
 */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (def['innerType']) s = def['innerType'] as z.core.$ZodType;
    else if (def['type'] === 'pipe') {
      const from = def['in'] as z.core.$ZodType;
      s = (from._zod.def as { type: string }).type === 'transform' ? (def['out'] as z.core.$ZodType) : from;
    } else return s;
  }
}

function childSchemas(schema: z.core.$ZodType): Array<[string | undefined, z.core.$ZodType]> {
  const s = unwrap(schema);
  const def = s._zod.def as unknown as Record<string, unknown>;
  switch (def['type']) {
    case 'object':
      return Object.entries(def['shape'] as Record<string, z.core.$ZodType>);
    case 'array':
      return [[undefined, def['element'] as z.core.$ZodType]];
    case 'union':
      return (def['options'] as z.core.$ZodType[]).map((o) => [undefined, o]);
    default:
      return [];
  }
}

const placesCache = new WeakMap<z.ZodType, Map<string, string[]>>();

/** Every field name of the schema's objects, with the paths of the objects that hold it ("[]" for array items). */
function fieldPlaces(schema: z.ZodType): Map<string, string[]> {
  const cached = placesCache.get(schema);
  if (cached) return cached;
  const places = new Map<string, string[]>();
  const visit = (s: z.core.$ZodType, at: string, depth: number): void => {
    if (depth > 12) return;
    const isObject = (unwrap(s)._zod.def as { type: string }).type === 'object';
    for (const [key, child] of childSchemas(s)) {
      if (key === undefined) {
        const isArray = (unwrap(s)._zod.def as { type: string }).type === 'array';
        visit(child, isArray ? `${at}[]` : at, depth + 1);
      } else {
        if (isObject) places.set(key, [...(places.get(key) ?? []), at]);
        visit(child, at === '' ? key : `${at}.${key}`, depth + 1);
      }
    }
  };
  visit(schema, '', 0);
  for (const [k, v] of places) places.set(k, [...new Set(v)]);
  placesCache.set(schema, places);
  return places;
}

/** The schemas found at `path` (several where a union offers several). */
function schemasAt(schema: z.core.$ZodType, path: Path): z.core.$ZodType[] {
  let current = [schema];
  for (const part of path) current = current.flatMap((s) => step(s, part));
  return current;
}

function step(schema: z.core.$ZodType, part: PropertyKey): z.core.$ZodType[] {
  const def = unwrap(schema)._zod.def as unknown as Record<string, unknown>;
  if (def['type'] === 'object' && typeof part === 'string') {
    const child = (def['shape'] as Record<string, z.core.$ZodType>)[part];
    return child ? [child] : [];
  }
  if (def['type'] === 'array' && typeof part === 'number') return [def['element'] as z.core.$ZodType];
  if (def['type'] === 'union') return (def['options'] as z.core.$ZodType[]).flatMap((o) => step(o, part));
  return [];
}

/** The field names of the object at `path`; of one branch only where the input picks a union's branch. */
function objectKeysAt(schema: z.ZodType, path: Path, input: unknown): string[] {
  const keys = new Set<string>();
  const collect = (s: z.core.$ZodType): void => {
    const def = unwrap(s)._zod.def as unknown as Record<string, unknown>;
    if (def['type'] === 'object') Object.keys(def['shape'] as object).forEach((k) => keys.add(k));
    if (def['type'] === 'union') {
      const branch = chosenBranch([s], input);
      (branch ? [branch.option] : (def['options'] as z.core.$ZodType[])).forEach(collect);
    }
  };
  schemasAt(schema, path).forEach(collect);
  return [...keys];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
