// The OpenAPI document's schemas: every shape with an id (`.meta({ id })` on its zod schema) is a
// named component that the operations reference, so that generated clients get named types
// (ProcessSpec, ProcessInfo, ErrorBody, ...).
//
// fastify-type-provider-zod makes two components of each shape, `NameInput` (as a request
// holds it) and `Name` (as an answer does), because coercions and defaults make the two differ.
// Here a spec is only ever a request and an info only ever an answer, so each gets its plain name:
// the one form that some operation uses. Both stay, the input one as `NameInput`, only where a
// shape is used both ways and its two forms differ.
import type { SwaggerTransformObject } from '@fastify/swagger';
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod';

const PREFIX = '#/components/schemas/';
const INPUT = 'Input';

type Json = unknown;
type Document = ReturnType<SwaggerTransformObject> & { components?: { schemas?: Record<string, Json> }; paths?: Json };

/** Every component name that `value` references. */
function refsIn(value: Json, into: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const v of value) refsIn(v, into);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string' && v.startsWith(PREFIX)) into.add(v.slice(PREFIX.length));
      else refsIn(v, into);
    }
  }
  return into;
}

/** `value` with each `$ref` to a renamed component pointing at its new name. */
function renamed(value: Json, names: ReadonlyMap<string, string>): Json {
  if (Array.isArray(value)) return value.map((v) => renamed(v, names));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => {
      if (key === '$ref' && typeof v === 'string' && v.startsWith(PREFIX))
        return [key, PREFIX + (names.get(v.slice(PREFIX.length)) ?? v.slice(PREFIX.length))];
      return [key, renamed(v, names)];
    }),
  );
}

/** The components that the paths use, directly or through other components. */
function used(document: Document): Set<string> {
  const schemas = document.components?.schemas ?? {};
  const seen = new Set<string>();
  const queue = [...refsIn(document.paths, new Set())];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    queue.push(...refsIn(schemas[name], new Set()));
  }
  return seen;
}

/** Gives each component the plain name of its shape (see above) and leaves out those nothing uses. */
export function tidyComponents(document: Document): Document {
  const schemas = document.components?.schemas ?? {};
  const inUse = used(document);
  const names = new Map<string, string>();
  for (const name of Object.keys(schemas)) {
    if (!name.endsWith(INPUT)) continue;
    const plain = name.slice(0, -INPUT.length);
    const bothUsed = inUse.has(plain) && inUse.has(name);
    if (!bothUsed || JSON.stringify(schemas[plain]) === JSON.stringify(schemas[name])) names.set(name, plain);
  }
  const kept: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    if (!inUse.has(name)) continue;
    const to = names.get(name) ?? name;
    // Where both forms are the same shape, the input one is dropped for the plain one.
    if (to !== name && inUse.has(to)) continue;
    kept[to] = renamed(schema, names);
  }
  const sorted = Object.fromEntries(Object.entries(kept).sort(([a], [b]) => a.localeCompare(b)));
  return { ...document, paths: renamed(document.paths, names), components: { ...document.components, schemas: sorted } } as Document;
}

export const transformObject: SwaggerTransformObject = (document) => tidyComponents(jsonSchemaTransformObject(document));
