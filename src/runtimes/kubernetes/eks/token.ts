// The bearer token that EKS accepts, made in-process with no AWS CLI: a presigned STS
// GetCallerIdentity URL that names the cluster in its signed x-k8s-aws-id header (what
// `aws eks get-token` and aws-iam-authenticator do). EKS asks STS who signed it.
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/** Access key credentials; temporary ones carry a session token and an expiry. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  /** Set for temporary credentials. */
  expiration?: Date | undefined;
}

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';

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
