// The server's configuration file (YAML). One schema gives the type, the start-up validation and
// the documentation; each runtime and secret store owns its section, discriminated by its type.
import { z } from 'zod';
import { HOST_AND_PORT } from '../spec/names.ts';
import { FIELD_VALIDATION } from '../spec/validate.ts';

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
  pull_timeout_seconds: z
    .number()
    .positive()
    .max(86400)
    .default(900)
    .describe('Longest time one image pull may take, from its request to its last layer; then the start fails and the pull is cancelled.'),
});

export const KubernetesRuntimeConfig = z.strictObject({
  runtime_type: z.literal('kubernetes'),
  kubeconfig: z
    .string()
    .min(1)
    .optional()
    .describe('Path of a kubeconfig. Default: KUBECONFIG, ~/.kube/config, then the in-cluster service account.'),
  context: z.string().min(1).optional().describe('Context of the kubeconfig to use. Default: its current-context.'),
  namespace: z.string().min(1).default('default'),
});

const endpointUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const EksRuntimeConfig = z.strictObject({
  runtime_type: z.literal('eks'),
  cluster_name: z.string().min(1).describe('Name of the EKS cluster.'),
  region: z.string().min(1).describe("The cluster's AWS region, e.g. us-west-2."),
  namespace: z.string().min(1).default('default').describe('Namespace of the processes; it must exist.'),
  credentials: z
    .strictObject({
      access_key: z
        .strictObject({
          access_key_id: SecretRef.describe('Secret holding the access key id.'),
          secret_access_key: SecretRef.describe('Secret holding the secret access key.'),
        })
        .describe('An IAM access key, read from the secret store.'),
      assume_role: z
        .strictObject({
          role_arn: z.string().min(1).describe('The role to assume with the access key (STS AssumeRole).'),
          external_id: SecretRef.optional().describe("Secret holding the external id that the role's trust policy requires."),
          session_name: z.string().min(2).max(64).optional().describe("Role session name, seen in CloudTrail. Default 'hydroplane'."),
          session_duration_seconds: z
            .number()
            .int()
            .min(900)
            .max(43200)
            .default(900)
            .describe('Lifetime of the temporary credentials; they are renewed before they expire.'),
        })
        .optional()
        .describe('Use the temporary credentials of a role instead of the access key itself.'),
    })
    .describe('How the server authenticates to AWS.'),
  sts_endpoint: endpointUrl
    .optional()
    .describe(
      'URL of AWS STS for AssumeRole, for tests or private endpoints. Default: the regional endpoint. The EKS token always names sts.<region>.amazonaws.com.',
    ),
  eks_endpoint: endpointUrl
    .optional()
    .describe('URL of the EKS API for DescribeCluster, for tests or private endpoints. Default: the regional endpoint.'),
});

export const GkeRuntimeConfig = z.strictObject({
  runtime_type: z.literal('gke'),
  cluster_id: z.string().min(1).describe('Name of the GKE cluster.'),
  project: z.string().min(1).describe("The cluster's project id; Application Default Credentials must be for this project."),
  region: z.string().min(1).describe("The cluster's location: a region (us-central1) or, for a zonal cluster, a zone (us-central1-a)."),
  namespace: z.string().min(1).default('default').describe('Namespace of the processes; it must exist.'),
  gke_endpoint: endpointUrl
    .optional()
    .describe('URL of the GKE API (container.googleapis.com), for tests or private endpoints. Default https://container.googleapis.com.'),
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
  culling_interval_minutes: positiveMinutes
    // Shorter, the culler would list the runtime without pause (its rounds never overlap, so each
    // would start as the last ended).
    .min(1 / 60, 'must be at least 1/60 of a minute (one second)')
    .default(1)
    .describe('How often to look for them: one second (1/60) at least.'),
});
export type ProcessCullingConfig = z.infer<typeof ProcessCullingConfig>;

export const ServerConfig = z.strictObject({
  secret_store: SecretStoreConfig.default({ secret_store_type: 'none' }),
  runtime: RuntimeConfig,
  process_culling: ProcessCullingConfig.nullish(),
  api_token: SecretRef.optional().describe(
    'A secret holding the API token that clients must send as a bearer token. HYDROPLANE_API_TOKEN, when set, wins.',
  ),
  allowed_hosts: z
    .array(
      z
        .string()
        .max(260)
        .regex(HOST_AND_PORT, "must be a host name or address, optionally with ':port' (hydroplane.internal, 10.0.0.5:8000, [fd00::5])"),
    )
    .max(100)
    .default([])
    .describe(
      'Without an API token, the Host names that the server answers besides 127.0.0.1, localhost and [::1] on its own port: ' +
        '"name" (any port) or "name:port". Other Hosts get 421, which stops DNS rebinding. Ignored with a token.',
    ),
  max_event_streams: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(256)
    .describe(
      'The most runtime event feeds that the server holds at once (GET /events streams and the waits of GET /process/{name}?wait=running); each holds a connection to the runtime. A stream past it gets 503 (too_many_event_streams); a wait polls instead.',
    ),
  field_validation: z
    .enum(FIELD_VALIDATION)
    .default('Warn')
    .describe(
      'What POST /process does with unknown or misplaced spec fields when the request has no fieldValidation parameter: ' +
        'Strict refuses them (422), Warn drops them and reports each as a warning, Ignore drops them silently.',
    ),
});
export type ServerConfig = z.infer<typeof ServerConfig>;
