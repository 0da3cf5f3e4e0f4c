// The process spec: what a user asks Hydroplane to run. This schema is the one source of the
// spec's TypeScript types (input as written, output after defaults and coercion), of the
// validation that the API applies, and of the OpenAPI document.
import { z } from 'zod';
import {
  DNS_1035_LABEL,
  DNS_LABEL_MAX,
  ENV_NAME,
  IMAGE_REFERENCE,
  LABEL_VALUE,
  LABEL_VALUE_MAX,
  PORT_NAME,
  PORT_NAME_MAX,
  labelKeyProblem,
  labelValueProblem,
} from './names.ts';
import { shown } from './shown.ts';
import { MAX_PROBLEMS } from './validate.ts';

/**
 * Limits that no real spec comes near; they keep one request from exhausting the server. Each is
 * checked before what it bounds is read: an oversize list, map or string is one problem, whatever
 * it holds. The field descriptions state them, and so does the API document.
 */
export const SPEC_LIMITS = {
  ports: 256,
  env: 1024,
  command: 4096,
  nodeSelector: 64,
  /** An env value or a command argument. Generous for a certificate; Linux refuses more than 128 KiB in one anyway. */
  stringLength: 65536,
  imageUri: 4096,
  /** A secret's name or key, a registry user name, a variable's name. */
  name: 1024,
  /** A number written as a string, such as "0.25". */
  numericString: 64,
  /** max_age_minutes: a year (366 days). A process meant to live longer needs no expiry. */
  maxAgeMinutes: 366 * 24 * 60,
} as const;

// Unambiguous, so that a long string that is not a number fails in linear time.
const NUMERIC_STRING = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/;

/** A number, or a numeric string such as "80" or "0.25", as the original accepted. */
function numeric<T extends z.ZodType<number, number>>(inner: T) {
  const numericString = z
    .string()
    .max(SPEC_LIMITS.numericString, { error: 'expected a number or a numeric string', abort: true })
    .regex(NUMERIC_STRING, 'expected a number or a numeric string');
  return z
    .union([z.number(), numericString], { error: 'expected a number or a numeric string' })
    .transform((v) => (typeof v === 'string' ? Number(v) : v))
    .pipe(inner);
}

/** At most `max` characters; a longer string is refused before any pattern reads it. */
function text(max: number, message = `must be at most ${max} characters`) {
  return z.string().max(max, { error: message, abort: true });
}

/** Whether `value` is an object with more than `max` keys; stops counting there. */
function hasMoreKeys(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  let n = 0;
  for (const key in value) if (Object.hasOwn(value, key) && ++n > max) return true;
  return false;
}

/** `schema` behind a cheap check: input that `tooBig` names a problem for is refused before `schema` reads any of it. */
function limited<T extends z.ZodType>(schema: T, tooBig: (value: unknown) => string | undefined) {
  return z.preprocess<unknown, T, z.input<T>>((value, ctx) => {
    const problem = tooBig(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    return value;
  }, schema);
}

export const ProcessName = text(DNS_LABEL_MAX)
  .regex(DNS_1035_LABEL, "must be lowercase letters, digits and '-', start with a letter and end with a letter or digit")
  .describe(
    'Unique name of the process. It names the container (Docker) or the Deployment and Service (Kubernetes), ' +
      "so it must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter, at most 63 characters.",
  );

export const GroupName = text(LABEL_VALUE_MAX)
  .regex(LABEL_VALUE, "must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
  .describe("Name of a group of processes that can be listed and stopped together. Letters, digits, '-', '_' and '.', at most 63.");

export const ProcessSecret = z
  .strictObject({
    secret_name: text(SPEC_LIMITS.name)
      .min(1)
      .describe(`Name of the secret in the secret store (Docker) or of the Kubernetes Secret; at most ${SPEC_LIMITS.name} characters.`),
    key: text(SPEC_LIMITS.name)
      .min(1)
      .optional()
      .describe(
        `Key of one field: of a JSON object secret (secret store) or of the Kubernetes Secret, at most ${SPEC_LIMITS.name} characters. ` +
          'Omit to use the whole value.',
      ),
  })
  .describe('A value taken from a secret instead of written in clear text.')
  .meta({ id: 'ProcessSecret' });

const Port = z
  .strictObject({
    container_port: numeric(z.number().int().min(1).max(65535)).describe('Port the container listens on, 1..65535.'),
    host_port: numeric(z.number().int().min(1).max(65535))
      .optional()
      .describe('Port published on the host (Docker) or the Service (Kubernetes); defaults to container_port.'),
    protocol: z.enum(['tcp', 'udp']).default('tcp').describe('Transport protocol.'),
    name: text(PORT_NAME_MAX)
      .refine(
        (n) => PORT_NAME.test(n) && /[a-z]/.test(n) && !n.includes('--'),
        "must be lowercase letters, digits and '-' with at least one letter, starting and ending with a letter or digit, no '--'",
      )
      .optional()
      .describe('Name of the port, for runtimes that name ports (Kubernetes). Generated when absent.'),
  })
  .describe('A port to publish.')
  .meta({ id: 'PortMapping' });

const EnvVar = z
  .strictObject({
    name: text(SPEC_LIMITS.name)
      .regex(ENV_NAME, "must be a variable name: letters, digits and '_', not starting with a digit")
      .describe(`Name of the variable, at most ${SPEC_LIMITS.name} characters.`),
    value: z
      .union([text(SPEC_LIMITS.stringLength), ProcessSecret])
      .describe(`A literal value of at most ${SPEC_LIMITS.stringLength} characters, or a process secret.`),
  })
  .describe('An environment variable of the container.')
  .meta({ id: 'EnvironmentVariable' });

const Resources = z
  .strictObject({
    cpu_vcpu: numeric(z.number().min(0.001, 'must be at least 0.001').max(1_000_000))
      .optional()
      .describe('Virtual CPUs, at least 0.001 (a number or a numeric string such as "0.25").'),
    memory_mib: numeric(z.number().int().min(0).max(1_073_741_824)).optional().describe('Memory in MiB, a whole number >= 0.'),
  })
  .describe('CPU and memory.')
  .meta({ id: 'ResourceSpec' });

const NodeSelector = limited(
  z
    .record(z.string(), z.string())
    .superRefine((selector, ctx) => {
      for (const [key, value] of Object.entries(selector)) {
        const problem = labelKeyProblem(key) ?? labelValueProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
      }
    })
    .meta({ maxProperties: SPEC_LIMITS.nodeSelector })
    .describe(
      'Node labels that the node running the process must carry (Kubernetes); at most ' +
        `${SPEC_LIMITS.nodeSelector}. Docker runs on one machine and ignores it.`,
    ),
  (value) => (hasMoreKeys(value, SPEC_LIMITS.nodeSelector) ? `more than ${SPEC_LIMITS.nodeSelector} labels` : undefined),
);

// An array's .max() is checked before its items (zod's size cap), so it needs no limited().
export const ContainerSpec = z
  .strictObject({
    image_uri: text(SPEC_LIMITS.imageUri)
      .regex(IMAGE_REFERENCE, 'must be an image reference such as "nginx", "nginxdemos/hello" or "ghcr.io/org/img:tag"')
      .describe(`Image to run, as Docker names it (at most ${SPEC_LIMITS.imageUri} characters); pulled when the runtime does not have it.`),
    username: z
      .union([text(SPEC_LIMITS.name).min(1), ProcessSecret])
      .optional()
      .describe(`Registry user name (at most ${SPEC_LIMITS.name} characters) or a process secret; for images in private registries.`),
    password: ProcessSecret.optional().describe('Registry password, always a process secret.'),
    ports: z
      .array(Port)
      .max(SPEC_LIMITS.ports, `at most ${SPEC_LIMITS.ports} ports`)
      .default([])
      .describe(`Ports to publish, at most ${SPEC_LIMITS.ports}.`),
    env: z
      .array(EnvVar)
      .max(SPEC_LIMITS.env, `at most ${SPEC_LIMITS.env} variables`)
      .default([])
      .describe(`Environment variables, at most ${SPEC_LIMITS.env}.`),
    command: z
      .array(text(SPEC_LIMITS.stringLength))
      .max(SPEC_LIMITS.command, `at most ${SPEC_LIMITS.command} arguments`)
      .optional()
      .describe(
        `Replaces the image's command (Docker CMD; the image's entrypoint is kept): at most ${SPEC_LIMITS.command} arguments ` +
          `of at most ${SPEC_LIMITS.stringLength} characters.`,
      ),
    resource_request: Resources.optional().describe('Resources reserved for the process.'),
    resource_limit: Resources.optional().describe('Resources the process may not exceed.'),
    node_selector: NodeSelector.optional(),
  })
  .superRefine((c, ctx) => {
    const seenPorts = new Map<string, number>();
    const seenNames = new Map<string, number>();
    c.ports.forEach((p, i) => {
      const key = `${p.host_port ?? p.container_port}/${p.protocol}`;
      const first = seenPorts.get(key);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['ports', i, 'host_port'], message: `host port ${key} is already used by ports[${first}]` });
      } else seenPorts.set(key, i);
      if (p.name !== undefined) {
        const firstName = seenNames.get(p.name);
        if (firstName !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['ports', i, 'name'],
            message: `port name '${p.name}' is already used by ports[${firstName}]`,
          });
        } else seenNames.set(p.name, i);
      }
    });
    const seenEnv = new Map<string, number>();
    c.env.forEach((e, i) => {
      const first = seenEnv.get(e.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['env', i, 'name'], message: `variable '${shown(e.name)}' is already set by env[${first}]` });
      } else seenEnv.set(e.name, i);
    });
    if (c.password !== undefined && c.username === undefined) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'a registry password needs a username' });
    }
    for (const field of ['cpu_vcpu', 'memory_mib'] as const) {
      const request = c.resource_request?.[field];
      const limit = c.resource_limit?.[field];
      if (request !== undefined && limit !== undefined && request > limit) {
        ctx.addIssue({
          code: 'custom',
          path: ['resource_request', field],
          message: `the request (${request}) exceeds the limit (${limit})`,
        });
      }
    }
  })
  .describe('The container to run.')
  .meta({ id: 'ContainerSpec' });

export const ProcessSpec = z
  .strictObject({
    process_name: ProcessName,
    group: GroupName.nullish(),
    has_public_ip: z
      .union([z.boolean(), z.enum(['true', 'false'])], { error: 'expected true or false' })
      .transform((v) => v === true || v === 'true')
      .default(false)
      .describe('Publish the ports on every interface (Docker) or through a NodePort Service (Kubernetes), instead of privately.'),
    container: ContainerSpec,
    max_age_minutes: numeric(
      z
        .number()
        .gt(0, 'must be more than 0 minutes')
        .max(SPEC_LIMITS.maxAgeMinutes, `must be at most ${SPEC_LIMITS.maxAgeMinutes} minutes (366 days)`),
    )
      .optional()
      .describe(
        'Stop the process once it is this many minutes old (fractions allowed, such as 0.5; at most ' +
          `${SPEC_LIMITS.maxAgeMinutes}, 366 days), whatever the server-wide process_culling says. The expiry is set at the start ` +
          "(its created time plus this) and kept on the container or Deployment, so any server stops it; it shows as the process's " +
          'expires. Every server checks for expired processes every 20 seconds. Absent: the process never expires on its own.',
      ),
  })
  .describe(
    'A process for Hydroplane to run: one container. Unknown or misplaced fields are refused, reported or dropped as ' +
      "POST /process's fieldValidation says; an answer names the first " +
      `${MAX_PROBLEMS} problems of a spec and counts the rest.`,
  )
  .meta({ id: 'ProcessSpec' });

/** The spec as a user writes it. */
export type ProcessSpecInput = z.input<typeof ProcessSpec>;
/** The spec after validation: defaults filled, numeric strings turned into numbers. */
export type ProcessSpec = z.output<typeof ProcessSpec>;
export type ContainerSpec = ProcessSpec['container'];
export type PortSpec = ContainerSpec['ports'][number];
export type EnvVarSpec = ContainerSpec['env'][number];
export type ProcessSecret = z.output<typeof ProcessSecret>;
export type ResourceSpec = NonNullable<ContainerSpec['resource_limit']>;

export function isProcessSecret(value: unknown): value is ProcessSecret {
  return typeof value === 'object' && value !== null && 'secret_name' in value;
}
