// Turns a schema's verdict into the contract's error: every offending field with its path, and for
// an unknown field, where it belongs when it is a known field in the wrong place.
import { z } from 'zod';
import { HydroplaneError, type ErrorCode, type FieldProblem } from '../errors.ts';

type Path = readonly PropertyKey[];

export function formatPath(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Validates `raw` against `schema`; throws a HydroplaneError naming every problem. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  what: { code?: ErrorCode; subject: string },
): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const fields = describeIssues(schema, result.error.issues, raw);
  const summary = fields.map((f) => (f.path ? `${f.path}: ${f.message}` : f.message)).join('; ');
  throw new HydroplaneError(what.code ?? 'invalid_spec', `invalid ${what.subject}: ${summary}`, { fields });
}

/** `input` is what was validated: where a discriminated union holds a field, it says which branch. */
export function describeIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], input?: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ path: formatPath([...issue.path, key]), message: unknownFieldMessage(schema, issue.path, key, valueAt(input, issue.path)) });
      }
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      problems.push({ path: formatPath(issue.path), message: 'is required' });
    } else {
      problems.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return problems;
}

function unknownFieldMessage(schema: z.ZodType, parentPath: Path, key: string, parent: unknown): string {
  const places = fieldPlaces(schema).get(key);
  const here = formatPath(parentPath.map((p) => (typeof p === 'number' ? 0 : p))).replace(/\[0\]/g, '[]');
  if (places && !places.includes(here)) {
    const where = places.map((p) => (p === '' ? 'at the top level' : `in '${p}'`)).join(' or ');
    return `unknown field here; '${key}' belongs ${where}`;
  }
  const branch = chosenBranch(schemasAt(schema, parentPath), parent);
  const siblings = objectKeysAt(schema, parentPath, parent);
  const near = siblings.filter((s) => s !== key && editDistance(s, key) <= 2);
  if (near.length > 0) return `unknown field; did you mean '${near[0]}'?`;
  // A field of another branch of the union: runtime.cluster_name with runtime_type gke, say.
  const unknown = branch ? `unknown field for ${branch.discriminator} '${branch.value}'` : 'unknown field';
  return siblings.length > 0 ? `${unknown}; expected one of: ${siblings.join(', ')}` : unknown;
}

function valueAt(input: unknown, path: Path): unknown {
  let value = input;
  for (const part of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[part] : undefined;
  return value;
}

/** The branch of a discriminated union among `schemas` that the input's discriminator picks, if any. */
function chosenBranch(schemas: readonly z.core.$ZodType[], input: unknown): { discriminator: string; value: string; option: z.core.$ZodType } | undefined {
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

/** Steps through wrappers (optional, default, pipe, ...) to the schema that holds the shape. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (def['innerType']) s = def['innerType'] as z.core.$ZodType;
    else if (def['type'] === 'pipe') s = def['in'] as z.core.$ZodType;
    else return s;
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
