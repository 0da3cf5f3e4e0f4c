// The server's configuration file (YAML). One schema gives the type, the start-up validation and
// the documentation; each runtime and secret store owns its section, discriminated by its type.
import { z } from 'zod';

export const SecretRef = z
  .strictObject({
    secret_name: z.string().min(1).describe('Name of the secret in the secret store.'),
    key: z.string().min(1).optional().describe('One field of a JSON object secret.'),
  })
  .describe('A value read from the secret store.');
export type SecretRef = z.infer<typeof SecretRef>;

const positiveMinutes = z.number().positive('must be more than 0');

export const NoneSecretStoreConfig = z.strictObject({ secret_store_type: z.literal('none') });
export const LocalSecretStoreConfig = z.strictObject({
  secret_store_type: z.literal('local'),
  store_location: z.string().min(1).default('~/.hydro_secrets').describe('Folder of the store.'),
});
export const SecretStoreConfig = z.discriminatedUnion('secret_store_type', [NoneSecretStoreConfig, LocalSecretStoreConfig]);
export type SecretStoreConfig = z.infer<typeof SecretStoreConfig>;

export const DockerRuntimeConfig = z.strictObject({
  runtime_type: z.literal('docker'),
  docker_host: z
    .string()
    .min(1)
    .optional()
    .describe('Engine address: unix:///path/to/docker.sock, tcp://host:port or npipe://. Default: DOCKER_HOST, else the local socket.'),
  network: z.string().min(1).default('hydroplane').describe('Bridge network that the containers share.'),
  stop_grace_seconds: z.number().min(0).max(3600).default(3).describe('Time between SIGTERM and SIGKILL when stopping.'),
  request_timeout_seconds: z.number().positive().max(3600).default(60).describe('Longest wait for one Engine call (pulls excepted).'),
});

export const KubernetesRuntimeConfig = z.strictObject({
  runtime_type: z.literal('kubernetes'),
  kubeconfig: z.string().min(1).optional().describe('Path of a kubeconfig. Default: KUBECONFIG, ~/.kube/config, then the in-cluster service account.'),
  context: z.string().min(1).optional().describe("Context of the kubeconfig to use. Default: its current-context."),
  namespace: z.string().min(1).default('default'),
});

export const EksRuntimeConfig = z.strictObject({
  runtime_type: z.literal('eks'),
  cluster_name: z.string().min(1),
  region: z.string().min(1),
  namespace: z.string().min(1).default('default'),
  credentials: z.strictObject({
    access_key: z.strictObject({ access_key_id: SecretRef, secret_access_key: SecretRef }),
    assume_role: z
      .strictObject({
        role_arn: z.string().min(1),
        external_id: SecretRef.optional(),
        session_name: z.string().min(2).max(64).optional(),
        session_duration_seconds: z.number().int().min(900).max(43200).default(900),
      })
      .optional(),
  }),
});

export const GkeRuntimeConfig = z.strictObject({
  runtime_type: z.literal('gke'),
  cluster_id: z.string().min(1),
  project: z.string().min(1),
  region: z.string().min(1),
  namespace: z.string().min(1).default('default'),
});

export const RuntimeConfig = z.discriminatedUnion('runtime_type', [
  DockerRuntimeConfig,
  KubernetesRuntimeConfig,
  EksRuntimeConfig,
  GkeRuntimeConfig,
]);
export type RuntimeConfig = z.infer<typeof RuntimeConfig>;
export type DockerRuntimeConfig = z.infer<typeof DockerRuntimeConfig>;
export type KubernetesRuntimeConfig = z.infer<typeof KubernetesRuntimeConfig>;
export type EksRuntimeConfig = z.infer<typeof EksRuntimeConfig>;
export type GkeRuntimeConfig = z.infer<typeof GkeRuntimeConfig>;

export const ProcessCullingConfig = z.strictObject({
  max_age_minutes: positiveMinutes.describe('Processes older than this are stopped. Fractions of a minute are allowed.'),
  culling_interval_minutes: positiveMinutes.default(1).describe('How often to look for them.'),
});
export type ProcessCullingConfig = z.infer<typeof ProcessCullingConfig>;

export const ServerConfig = z.strictObject({
  secret_store: SecretStoreConfig.default({ secret_store_type: 'none' }),
  runtime: RuntimeConfig,
  process_culling: ProcessCullingConfig.nullish(),
  api_token: SecretRef.optional().describe(
    'A secret holding the API token that clients must send as a bearer token. HYDROPLANE_API_TOKEN, when set, wins.',
  ),
});
export type ServerConfig = z.infer<typeof ServerConfig>;
