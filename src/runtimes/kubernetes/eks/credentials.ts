// EKS: where the cluster is (DescribeCluster: endpoint and CA) and the bearer token that EKS
// accepts, made in-process with no AWS CLI: a presigned STS GetCallerIdentity URL that names the
// cluster in its signed x-k8s-aws-id header (what `aws eks get-token` and aws-iam-authenticator do).
// Credentials are an access key from the secret store, optionally exchanged for a role's temporary
// credentials; both those and the token are renewed before they expire.
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { HydroplaneError } from '../../errors.ts';
import { readConfigSecret } from '../../secrets/resolve.ts';
import type { SecretStore } from '../../secrets/secret-store.ts';
import type { EksRuntimeConfig } from '../../config/schema.ts';
import type { RuntimeLogger } from '../logger.ts';
import { KubernetesRuntime, secretResolver } from './kubernetes-runtime.ts';
import { tokenKubeConfig } from './token-kubeconfig.ts';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  /** Set for temporary credentials. */
  expiration?: Date | undefined;
}

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** EKS accepts a token for 15 minutes after it is signed; a fresh one is made well before. */
export const EKS_TOKEN_RENEW_MS = 10 * 60_000;
/** Temporary credentials are renewed when they have less than this left. */
export const CREDENTIALS_RENEW_MARGIN_MS = 5 * 60_000;
export const DEFAULT_SESSION_NAME = 'hydroplane';
/** Temporary credentials with less than this left are not used to sign a token. */
const STILL_USABLE_MS = 60_000;

const CLIENT_OPTIONS = { maxAttempts: 3, requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000 } };

/** The regional STS host that the token's URL names; EKS checks it. */
export function stsHost(region: string): string {
  return `sts.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * The bearer token for an EKS cluster: 'k8s-aws-v1.' + base64url (no padding) of a presigned
 * https://sts.<region>.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15 URL, SigV4
 * query-signed for 60 s with the header x-k8s-aws-id: <cluster> signed in.
 */
export async function eksToken(args: {
  clusterName: string;
  region: string;
  credentials: AwsCredentials;
  signingDate: Date;
}): Promise<string> {
  const host = stsHost(args.region);
  const { accessKeyId, secretAccessKey, sessionToken } = args.credentials;
  const signer = new SignatureV4({
    credentials: sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken },
    region: args.region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname: host,
    path: '/',
    headers: { host, 'x-k8s-aws-id': args.clusterName },
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
  });
  const signed = await signer.presign(request, { expiresIn: 60, signingDate: args.signingDate });
  const query = Object.entries(signed.query ?? {})
    .flatMap(([k, v]) => (v === null || v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((one) => `${rfc3986(k)}=${rfc3986(one)}`)))
    .join('&');
  return EKS_TOKEN_PREFIX + Buffer.from(`https://${host}/?${query}`).toString('base64url');
}

export interface AssumeRoleSettings {
  roleArn: string;
  externalId?: string | undefined;
  sessionName: string;
  durationSeconds: number;
}

export interface EksAuthOptions {
  clusterName: string;
  region: string;
  accessKey: AwsCredentials;
  assumeRole?: AssumeRoleSettings | undefined;
  /** URL of STS for AssumeRole; default the regional endpoint. */
  stsEndpoint?: string | undefined;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  logger?: RuntimeLogger | undefined;
}

/** The credentials and the EKS token of one cluster, each renewed before it expires. */
export class EksAuth {
  readonly #o: EksAuthOptions;
  readonly #now: () => number;
  readonly #sts: STSClient | undefined;
  #credentials: AwsCredentials | undefined;
  #pendingCredentials: Promise<AwsCredentials> | undefined;
  #token: { value: string; renewAt: number } | undefined;
  #pendingToken: Promise<string> | undefined;

  constructor(options: EksAuthOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#sts = options.assumeRole
      ? new STSClient({
          region: options.region,
          credentials: { accessKeyId: options.accessKey.accessKeyId, secretAccessKey: options.accessKey.secretAccessKey },
          ...(options.stsEndpoint ? { endpoint: options.stsEndpoint } : {}),
          ...CLIENT_OPTIONS,
        })
      : undefined;
  }

  /** The access key, or the role's temporary credentials (renewed when they have under 5 minutes left). */
  credentials(): Promise<AwsCredentials> {
    if (!this.#o.assumeRole) return Promise.resolve(this.#o.accessKey);
    const current = this.#credentials;
    if (current?.expiration && current.expiration.getTime() - this.#now() > CREDENTIALS_RENEW_MARGIN_MS) return Promise.resolve(current);
    this.#pendingCredentials ??= this.#assumeRole(this.#o.assumeRole)
      .catch((err: unknown) => {
        // STS failing for a moment need not fail requests while the current credentials still work.
        if (current?.expiration && current.expiration.getTime() - this.#now() > STILL_USABLE_MS) {
          this.#o.logger?.warn(
            { err, expires: current.expiration.toISOString() },
            'could not renew the AWS role credentials; using the current ones',
          );
          return current;
        }
        throw err;
      })
      .finally(() => {
        this.#pendingCredentials = undefined;
      });
    return this.#pendingCredentials;
  }

  /** The bearer token for the cluster: made again after 10 minutes, or before its credentials expire. */
  token(): Promise<string> {
    const current = this.#token;
    if (current && this.#now() < current.renewAt) return Promise.resolve(current.value);
    this.#pendingToken ??= this.#makeToken().finally(() => {
      this.#pendingToken = undefined;
    });
    return this.#pendingToken;
  }

  close(): void {
    this.#sts?.destroy();
  }

  async #makeToken(): Promise<string> {
    const credentials = await this.credentials();
    const issued = this.#now();
    const value = await eksToken({ clusterName: this.#o.clusterName, region: this.#o.region, credentials, signingDate: new Date(issued) });
    let renewAt = issued + EKS_TOKEN_RENEW_MS;
    // A token signed with temporary credentials stops working when they expire.
    if (credentials.expiration) renewAt = Math.min(renewAt, credentials.expiration.getTime() - STILL_USABLE_MS);
    this.#token = { value, renewAt };
    return value;
  }

  async #assumeRole(role: AssumeRoleSettings): Promise<AwsCredentials> {
    let out;
    try {
      out = await this.#sts!.send(
        new AssumeRoleCommand({
          RoleArn: role.roleArn,
          RoleSessionName: role.sessionName,
          DurationSeconds: role.durationSeconds,
          ...(role.externalId === undefined ? {} : { ExternalId: role.externalId }),
        }),
      );
    } catch (err) {
      throw awsError(err, {
        service: 'STS',
        region: this.#o.region,
        endpoint: this.#o.stsEndpoint ?? `https://${stsHost(this.#o.region)}`,
        action: `assuming the role ${role.roleArn}`,
      });
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new HydroplaneError('runtime_error', `AWS STS answered AssumeRole for ${role.roleArn} without complete credentials`);
    }
    const credentials = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
    this.#credentials = credentials;
    this.#o.logger?.info({ role: role.roleArn, expires: c.Expiration.toISOString() }, 'assumed the AWS role');
    return credentials;
  }
}

interface AwsCall {
  service: 'STS' | 'EKS';
  region: string;
  endpoint: string;
  /** What Hydroplane was doing: "assuming the role arn:...". */
  action: string;
  clusterName?: string;
}

const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|UND_ERR_.*|ERR_TLS.*|.*CERT.*)$/;

/** An AWS SDK failure -> the catalogue, naming the service, the region and what was being done. */
export function awsError(err: unknown, call: AwsCall): HydroplaneError {
  if (err instanceof HydroplaneError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: string; message?: string };
  };
  const status = e.$metadata?.httpStatusCode;
  const code = e.name ?? 'Error';
  const message = e.message ?? String(err);
  const where = `AWS ${call.service} in ${call.region} (${call.endpoint})`;
  const cause = new Error(message);
  if (status === undefined) {
    const network = e.code ?? e.cause?.code;
    if (code === 'TimeoutError' || code === 'RequestTimeout' || (network !== undefined && NETWORK_CODES.test(network))) {
      return new HydroplaneError(
        'runtime_unavailable',
        `the eks runtime cannot reach ${where} while ${call.action} (${network ?? code}: ${message}); check the network, the proxy and the region`,
        { cause },
      );
    }
    return new HydroplaneError('runtime_error', `the eks runtime failed while ${call.action} with ${where}: ${message}`, { cause });
  }
  if (code === 'ResourceNotFoundException' && call.clusterName !== undefined) {
    return new HydroplaneError(
      'invalid_config',
      `there is no EKS cluster named '${call.clusterName}' in region ${call.region} (for these credentials): check cluster_name and region. AWS says: ${message}`,
      { cause },
    );
  }
  if (status === 401 || status === 403) {
    return new HydroplaneError('runtime_forbidden', `${where} refused ${call.action} (${code}): ${message}`, { cause });
  }
  if (status >= 500 || code === 'ThrottlingException' || code === 'Throttling') {
    return new HydroplaneError(
      'runtime_unavailable',
      `${where} failed while ${call.action} (${status} ${code}): ${message}; try again later`,
      { cause },
    );
  }
  return new HydroplaneError('runtime_error', `${where} refused ${call.action} (${status} ${code}): ${message}`, { cause });
}

export interface EksDeps {
  secrets: SecretStore;
  logger?: RuntimeLogger | undefined;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/** What start-up learns about the cluster; the runtime is built from it. */
export interface EksCluster {
  endpoint: string;
  /** base64 PEM, as DescribeCluster gives it. */
  caData: string;
  auth: EksAuth;
}

/** Reads the credentials, assumes the role when configured, describes the cluster and makes a first token. */
export async function connectEks(config: EksRuntimeConfig, deps: EksDeps): Promise<EksCluster> {
  const { access_key, assume_role } = config.credentials;
  // Every secret first, so that a missing one is reported before any call to AWS.
  const [accessKeyId, secretAccessKey, externalId] = await Promise.all([
    readConfigSecret(deps.secrets, access_key.access_key_id, 'runtime.credentials.access_key.access_key_id'),
    readConfigSecret(deps.secrets, access_key.secret_access_key, 'runtime.credentials.access_key.secret_access_key'),
    assume_role?.external_id
      ? readConfigSecret(deps.secrets, assume_role.external_id, 'runtime.credentials.assume_role.external_id')
      : undefined,
  ]);
  const auth = new EksAuth({
    clusterName: config.cluster_name,
    region: config.region,
    accessKey: { accessKeyId, secretAccessKey },
    assumeRole: assume_role && {
      roleArn: assume_role.role_arn,
      externalId,
      sessionName: assume_role.session_name ?? DEFAULT_SESSION_NAME,
      durationSeconds: assume_role.session_duration_seconds,
    },
    stsEndpoint: config.sts_endpoint,
    now: deps.now,
    logger: deps.logger,
  });
  const eks = new EKSClient({
    region: config.region,
    credentials: async () => {
      const c = await auth.credentials();
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration };
    },
    ...(config.eks_endpoint ? { endpoint: config.eks_endpoint } : {}),
    ...CLIENT_OPTIONS,
  });
  try {
    await auth.credentials();
    let cluster;
    try {
      ({ cluster } = await eks.send(new DescribeClusterCommand({ name: config.cluster_name })));
    } catch (err) {
      throw awsError(err, {
        service: 'EKS',
        region: config.region,
        endpoint: config.eks_endpoint ?? `https://eks.${config.region}.amazonaws.com`,
        action: `describing the cluster '${config.cluster_name}'`,
        clusterName: config.cluster_name,
      });
    }
    const endpoint = cluster?.endpoint;
    const caData = cluster?.certificateAuthority?.data;
    if (!endpoint || !caData) {
      throw new HydroplaneError(
        'runtime_unavailable',
        `the EKS cluster '${config.cluster_name}' in ${config.region} has no API endpoint or CA yet (status ${cluster?.status ?? 'unknown'}); start the server once it is ACTIVE`,
      );
    }
    await auth.token();
    deps.logger?.info({ cluster: config.cluster_name, region: config.region, endpoint, status: cluster?.status }, 'EKS cluster found');
    return { endpoint, caData, auth };
  } catch (err) {
    auth.close();
    throw err;
  } finally {
    eks.destroy();
  }
}

export async function eksRuntimeFromConfig(config: EksRuntimeConfig, deps: EksDeps): Promise<KubernetesRuntime> {
  const { endpoint, caData, auth } = await connectEks(config, deps);
  const kc = tokenKubeConfig({
    name: `eks-${config.cluster_name}`,
    server: endpoint,
    caData,
    namespace: config.namespace,
    token: () => auth.token(),
  });
  return new KubernetesRuntime(kc, {
    namespace: config.namespace,
    resolveSecret: secretResolver(deps.secrets),
    type: 'eks',
    logger: deps.logger,
  });
}
