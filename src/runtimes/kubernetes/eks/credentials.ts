// What the eks runtime authenticates with, each renewed before it expires: the AWS credentials
// (an access key from the secret store, optionally exchanged for a role's temporary credentials
// with STS AssumeRole) and the EKS token signed with them.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { HydroplaneError } from '../../../errors.ts';
import type { RuntimeLogger } from '../../logger.ts';
import { awsError } from './errors.ts';
import { eksToken, stsHost, type AwsCredentials } from './token.ts';

/** EKS accepts a token for 15 minutes after it is signed; a fresh one is made well before. */
export const EKS_TOKEN_RENEW_MS = 10 * 60_000;
/** Temporary credentials are renewed when they have less than this left. */
export const CREDENTIALS_RENEW_MARGIN_MS = 5 * 60_000;
export const DEFAULT_SESSION_NAME = 'hydroplane';
/** Temporary credentials with less than this left are not used to sign a token. */
const STILL_USABLE_MS = 60_000;

/** Retries and timeouts of the AWS SDK clients (STS, EKS). */
export const AWS_CLIENT_OPTIONS = { maxAttempts: 3, requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000 } };

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
          ...AWS_CLIENT_OPTIONS,
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
