// What the list calls answer for each process.
import { z } from 'zod';

export const ProcessStatus = z
  .enum(['STARTING', 'RUNNING', 'EXITED', 'FAILED'])
  .describe(
    'STARTING: created, pulling, scheduling or restarting. RUNNING: started (and ready, on Kubernetes). ' +
      'EXITED: the container ended (see exit_code); it stays listed until stopped or culled. ' +
      'FAILED: it cannot run (see reason), for instance an image that cannot be pulled or a crash loop.',
  )
  .meta({ id: 'ProcessStatus' });
export type ProcessStatus = z.infer<typeof ProcessStatus>;

export const SocketAddress = z
  .object({
    host: z.string().describe('IP address to connect to.'),
    port: z.number().int().describe('Port to connect to.'),
    is_public: z.boolean().describe('Whether the address is reachable from other machines.'),
  })
  .describe('An address at which the process can be reached.')
  .meta({ id: 'SocketAddress' });
export type SocketAddress = z.infer<typeof SocketAddress>;

export const ProcessInfo = z
  .object({
    process_name: z.string().describe('Name of the process.'),
    group: z.string().nullable().describe('Group of the process, or null.'),
    socket_addresses: z.array(SocketAddress).describe('Where to reach its ports.'),
    created: z.string().describe('When it was created: ISO 8601 date-time with a time zone.'),
    status: ProcessStatus,
    exit_code: z.number().int().nullable().optional().describe('Exit code, when status is EXITED.'),
    reason: z.string().optional().describe('Why the process is not running, when the runtime says.'),
    image: z
      .string()
      .optional()
      .describe(
        "The container's image, when the runtime says: the spec's image_uri, or the name the runtime gives it " +
          '(Podman puts localhost/ before a local image).',
      ),
    started: z
      .string()
      .optional()
      .describe(
        'When the container last started: ISO 8601 date-time with a time zone. Absent before it has started. ' +
          'Always in GET /process/{process_name}; in lists on Kubernetes, not on Docker, where it would cost one Engine call per process.',
      ),
    finished: z
      .string()
      .optional()
      .describe(
        'When the container ended: ISO 8601 date-time with a time zone. Only when status is EXITED or FAILED after it had run; ' +
          'in the same answers as started.',
      ),
    expires: z
      .string()
      .optional()
      .describe(
        "When the process will be stopped for its spec's max_age_minutes: ISO 8601 date-time with a time zone. " +
          'Absent for a process without one (it never expires on its own; the server-wide process_culling may still stop it).',
      ),
    spec_digest: z
      .string()
      .optional()
      .describe(
        'The digest of the spec it was started from, as sha256:<hex> (see PUT /process/{process_name}). ' +
          'Absent for processes started by older servers or the original Hydroplane.',
      ),
  })
  .describe('A process that the runtime runs.')
  .meta({ id: 'ProcessInfo' });
export type ProcessInfo = z.infer<typeof ProcessInfo>;

/** What POST /process answers: the new process, and what was dropped from its spec under fieldValidation=Warn. */
export const StartedProcessInfo = ProcessInfo.extend({
  warnings: z
    .array(z.string())
    .optional()
    .describe(
      'With fieldValidation=Warn (the default), each unknown or misplaced field that was dropped from the spec, ' +
        "as 'path: what is wrong' (the text of the 422 that Strict gives); at most 20, then one that counts the rest. Absent when there are none.",
    ),
})
  .describe('The process just started.')
  .meta({ id: 'StartedProcessInfo' });
export type StartedProcessInfo = z.infer<typeof StartedProcessInfo>;

/** What PUT /process/{process_name} did to reach the spec it was given. */
export const ApplyOutcome = z
  .enum(['created', 'unchanged', 'replaced'])
  .describe(
    'created: there was no such process; it was started. unchanged: it was running (or starting) from the same spec; nothing was touched. ' +
      'replaced: it had been started from another spec, or had exited or failed; it was stopped and started from this spec.',
  )
  .meta({ id: 'ApplyOutcome' });
export type ApplyOutcome = z.infer<typeof ApplyOutcome>;

/** What PUT /process/{process_name} answers: the process as the spec left it, and what it took. */
export const AppliedProcessInfo = StartedProcessInfo.extend({ outcome: ApplyOutcome })
  .describe('The process after the apply, and what the apply did.')
  .meta({ id: 'AppliedProcessInfo' });
export type AppliedProcessInfo = z.infer<typeof AppliedProcessInfo>;

/** Orders processes by name, as every list answers them. */
export function byProcessName(a: ProcessInfo, b: ProcessInfo): number {
  return a.process_name < b.process_name ? -1 : a.process_name > b.process_name ? 1 : 0;
}
