// Reads the server's YAML configuration; any problem names the file and the key.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { HydroplaneError } from '../errors.ts';
import { ServerConfig } from './schema.ts';
import { parseOrThrow } from '../spec/validate.ts';

/** What applies without a config file: the local Docker Engine, no secret store (as basic-config.yml). */
export const BUILT_IN_CONFIG = 'secret_store:\n  secret_store_type: none\nruntime:\n  runtime_type: docker\n';

/** The built-in configuration, parsed like a file's. */
export function builtInConfig(): ServerConfig {
  return parseConfig(BUILT_IN_CONFIG, '(built-in defaults)');
}

export async function loadConfig(path: string): Promise<ServerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new HydroplaneError('invalid_config', `cannot read the config file ${path}: ${why}. Pass one with -c/--conf.`);
  }
  return parseConfig(text, path);
}

export function parseConfig(text: string, path: string): ServerConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new HydroplaneError('invalid_config', `${path} is not valid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  const raw: unknown = doc.toJS();
  try {
    return parseOrThrow(ServerConfig, raw ?? {}, { code: 'invalid_config', subject: 'configuration' });
  } catch (error) {
    if (!(error instanceof HydroplaneError) || !error.fields) throw error;
    const lines = error.fields.map((f) => `  ${f.path || '(top level)'}: ${f.message}`);
    throw new HydroplaneError('invalid_config', `invalid configuration in ${path}:\n${lines.join('\n')}`, { fields: error.fields });
  }
}
