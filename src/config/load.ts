// Reads the server's YAML configuration; any problem names the file and the key.
import { createReadStream } from 'node:fs';
import { readAtMost } from '../read-bounded.ts';
import { parseDocument } from 'yaml';
import { HydroplaneError, type FieldProblem } from '../errors.ts';
import { ServerConfig } from './schema.ts';
import { MAX_PROBLEMS, formatPath, parseOrThrow } from '../spec/validate.ts';

/** What applies without a config file: the local Docker Engine, no secret store (as basic-config.yml). */
export const BUILT_IN_CONFIG = 'secret_store:\n  secret_store_type: none\nruntime:\n  runtime_type: docker\n';

/** The built-in configuration, parsed like a file's. */
export function builtInConfig(): ServerConfig {
  return parseConfig(BUILT_IN_CONFIG, '(built-in defaults)');
}

/**
 * The most of a config file the server reads: a configuration is a few dozen lines; this bounds
 * what a wrong file (-c /dev/zero, a log) makes it read before it says so.
 */
const CONFIG_MAX_BYTES = 1024 * 1024;

export async function loadConfig(path: string): Promise<ServerConfig> {
  let bytes: Buffer | undefined;
  try {
    // Streamed rather than read whole: a device or a pipe (-c <(...)) has no size to check first.
    bytes = await readAtMost(createReadStream(path), CONFIG_MAX_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : String(error);
    throw new HydroplaneError('invalid_config', `cannot read the config file ${path}: ${why}. Pass one with -c/--conf.`);
  }
  if (bytes === undefined) {
    throw new HydroplaneError(
      'invalid_config',
      `the config file ${path} holds more than ${CONFIG_MAX_BYTES / 1024 / 1024} MiB, which no configuration does: is it the right file? Pass one with -c/--conf.`,
    );
  }
  return parseConfig(bytes.toString('utf8'), path);
}

export function parseConfig(text: string, path: string): ServerConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new HydroplaneError('invalid_config', `${path} is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  const raw: unknown = doc.toJS();
  const strange = yamlOnlyValues(raw);
  if (strange.length > 0) throw invalidIn(path, strange);
  try {
    return parseOrThrow(ServerConfig, raw ?? {}, { code: 'invalid_config', subject: 'configuration' });
  } catch (error) {
    if (!(error instanceof HydroplaneError) || !error.fields) throw error;
    throw invalidIn(path, error.fields);
  }
}

function invalidIn(path: string, fields: FieldProblem[]): HydroplaneError {
  const lines = fields.map((f) => `  ${f.path || '(top level)'}: ${f.message}`);
  return new HydroplaneError('invalid_config', `invalid configuration in ${path}:\n${lines.join('\n')}`, { fields });
}

const PLAIN_VALUES = 'text, numbers, true or false, lists and maps';

/**
 * Values that YAML's explicit tags make and JSON has no word for (!!binary, !!timestamp, !!set,
 * !!omap): no key of the configuration takes one, and the schema would see them as
 * something else (binary data as a map of its bytes, an ordered map as an empty map), so each is
 * named where it is before the schema looks. Anchors may make the tree a graph: each object once.
 */
function yamlOnlyValues(raw: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<object>();
  const walk = (value: unknown, path: PropertyKey[]): void => {
    if (typeof value !== 'object' || value === null || seen.has(value) || problems.length >= MAX_PROBLEMS) return;
    seen.add(value);
    const kind =
      value instanceof Uint8Array
        ? ['binary data (!!binary)', `it takes ${PLAIN_VALUES}`]
        : value instanceof Date
          ? ['a date (!!timestamp)', 'quote it to give text']
          : value instanceof Set
            ? ['a set (!!set)', 'write a list']
            : value instanceof Map
              ? ['an ordered map (!!omap)', 'write a map']
              : undefined;
    if (kind !== undefined) {
      problems.push({ path: formatPath(path), message: `${kind[0]}, which the configuration does not take: ${kind[1]}` });
      return;
    }
    for (const [key, child] of Object.entries(value)) walk(child, [...path, Array.isArray(value) ? Number(key) : key]);
  };
  walk(raw, []);
  return problems;
}
