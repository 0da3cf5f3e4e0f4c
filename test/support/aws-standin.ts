// AWS STS and EKS stand-ins on loopback, for tests that go through the official SDK clients
// (pointed here by their endpoint settings). They answer as AWS does: STS AssumeRole in the query
// protocol's XML, EKS DescribeCluster in JSON, errors in each one's own shape. Every request's
// SigV4 signature is verified here, with an implementation of its own (node:crypto, not the SDK's
// signer), against the secret of the key it names; and an EKS bearer token is checked the way
// EKS does: the presigned GetCallerIdentity URL it carries must verify for the cluster.
//
//   const aws = await startAwsStandin({ keys: { AKIA...: 'secret' }, clusters: { demo: {...} } });
//   ... sts_endpoint: aws.url, eks_endpoint: aws.url ...
//   aws.verifyEksToken(token, 'demo')  // { ok: true, accessKeyId } or { ok: false, reason }
import { createHash, createHmac, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinCluster {
  /** The API server's URL, e.g. the Kubernetes stand-in's. */
  endpoint: string;
  /** base64 of the CA certificate (PEM). */
  caData: string;
  status?: string;
}

export interface StandinRole {
  /** Required in AssumeRole when set (the trust policy's sts:ExternalId condition). */
  externalId?: string;
  /** Access key ids allowed to assume it; default every known key. */
  trusted?: string[];
}

export interface AwsStandinOptions {
  /** Long-term access keys: id -> secret. */
  keys: Record<string, string>;
  region?: string;
  account?: string;
  clusters?: Record<string, StandinCluster>;
  /** role ARN -> its trust policy. */
  roles?: Record<string, StandinRole>;
  /** Milliseconds since the epoch, for credential expiry and token age; default Date.now. */
  now?: () => number;
}

export interface AwsRequestRecord {
  service: 'sts' | 'eks' | 'unknown';
  action: string;
  /** The access key id of the signature, if any. */
  accessKeyId: string | undefined;
  /** The region and service of the signature's credential scope. */
  scope: { region: string; service: string } | undefined;
  params: Record<string, string>;
  status: number;
}

export type AwsFault = { status: number; code: string; message: string };

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  roleArn: string;
  sessionName: string;
  externalId: string | undefined;
}

export type TokenVerdict = { ok: true; accessKeyId: string; signedAt: Date } | { ok: false; reason: string };

export interface AwsStandin {
  url: string;
  region: string;
  requests(filter?: { action?: string }): AwsRequestRecord[];
  /** Credentials handed out by AssumeRole, oldest first. */
  issued: IssuedCredentials[];
  /** Makes an action (AssumeRole, DescribeCluster) fail as AWS would answer, until cleared. */
  fail(action: string, fault: AwsFault | undefined): void;
  /** Checks an EKS bearer token as EKS does (through STS GetCallerIdentity). */
  verifyEksToken(token: string, clusterName: string): TokenVerdict;
  close(): Promise<void>;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TOKEN_MAX_AGE_MS = 15 * 60_000;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** AWS's date format, 20240101T000000Z -> a Date. */
function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

interface Signed {
  method: string;
  /** The path as sent (escaped once). */
  path: string;
  /** Decoded query pairs, the signature excluded. */
  query: Array<[string, string]>;
  headers: Record<string, string>;
  signedHeaders: string[];
  payloadHash: string;
  amzDate: string;
  /** keyId/date/region/service/aws4_request */
  credential: string;
  signature: string;
}

/** The SigV4 signature of a request, computed from its parts (the spec, not the SDK's signer). */
function signatureOf(s: Signed, secret: string): string {
  const [, date, region, service] = s.credential.split('/');
  // Services other than S3 sign the path escaped twice.
  const canonicalUri =
    s.path
      .split('/')
      .map((seg) => rfc3986(seg))
      .join('/') || '/';
  const canonicalQuery = s.query
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = s.signedHeaders.map((h) => `${h}:${(s.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [s.method, canonicalUri, canonicalQuery, canonicalHeaders, s.signedHeaders.join(';'), s.payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, s.amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export async function startAwsStandin(options: AwsStandinOptions): Promise<AwsStandin> {
  const region = options.region ?? 'us-west-2';
  const account = options.account ?? '123456789012';
  const now = options.now ?? Date.now;
  const records: AwsRequestRecord[] = [];
  const issued: IssuedCredentials[] = [];
  const faults = new Map<string, AwsFault>();

  /** The secret and, for temporary credentials, the session token and expiry of a key id. */
  const keyInfo = (id: string): { secret: string; sessionToken?: string; expiration?: Date; arn: string } | undefined => {
    const secret = options.keys[id];
    if (secret !== undefined) return { secret, arn: `arn:aws:iam::${account}:user/hydroplane` };
    const temp = issued.find((c) => c.accessKeyId === id);
    if (!temp) return undefined;
    const role = temp.roleArn.split('/').pop();
    return {
      secret: temp.secretAccessKey,
      sessionToken: temp.sessionToken,
      expiration: temp.expiration,
      arn: `arn:aws:sts::${account}:assumed-role/${role}/${temp.sessionName}`,
    };
  };

  /** Checks an Authorization header's SigV4; answers who signed, or the error that AWS gives. */
  const authenticate = (
    req: IncomingMessage,
    rawPath: string,
    body: Buffer,
    service: string,
    record: AwsRequestRecord,
  ): { arn: string; keyId: string } | AwsFault => {
    const auth = req.headers.authorization ?? '';
    const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return { status: 403, code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' };
    const [, credential, signedHeaders, signature] = m as unknown as [string, string, string, string];
    const [keyId, , scopeRegion, scopeService, terminator] = credential.split('/');
    record.accessKeyId = keyId;
    record.scope = { region: scopeRegion ?? '', service: scopeService ?? '' };
    const info = keyInfo(keyId ?? '');
    const invalidToken =
      service === 'sts'
        ? { status: 403, code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.' }
        : { status: 403, code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
    if (!info) return invalidToken;
    if (scopeRegion !== region || scopeService !== service || terminator !== 'aws4_request') {
      return {
        status: 403,
        code: service === 'sts' ? 'SignatureDoesNotMatch' : 'InvalidSignatureException',
        message: `Credential should be scoped to a valid region and service: expected ${region}/${service}, got ${scopeRegion}/${scopeService}.`,
      };
    }
    if (info.sessionToken !== undefined) {
      if (req.headers['x-amz-security-token'] !== info.sessionToken) return invalidToken;
      if (info.expiration!.getTime() <= now()) {
        return { status: 403, code: 'ExpiredTokenException', message: 'The security token included in the request is expired' };
      }
    }
    const url = new URL(rawPath, 'http://standin');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const expected = signatureOf(
      {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: [...url.searchParams.entries()],
        headers,
        signedHeaders: signedHeaders.split(';'),
        payloadHash: headers['x-amz-content-sha256'] ?? sha256(body),
        amzDate: headers['x-amz-date'] ?? '',
        credential,
        signature,
      },
      info.secret,
    );
    if (expected !== signature) {
      return {
        status: 403,
        code: service === 'sts' ? 'SignatureDoesNotMatch' : 'InvalidSignatureException',
        message:
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      };
    }
    return { arn: info.arn, keyId: keyId! };
  };

  const stsError = (res: ServerResponse, record: AwsRequestRecord, f: AwsFault) => {
    record.status = f.status;
    const body =
      `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <Error>\n    <Type>Sender</Type>\n    <Code>${xml(f.code)}</Code>\n` +
      `    <Message>${xml(f.message)}</Message>\n  </Error>\n  <RequestId>${randomBytes(16).toString('hex')}</RequestId>\n</ErrorResponse>\n`;
    res.writeHead(f.status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomBytes(16).toString('hex') });
    res.end(body);
  };
  const eksError = (res: ServerResponse, record: AwsRequestRecord, f: AwsFault, extra: Record<string, unknown> = {}) => {
    record.status = f.status;
    res.writeHead(f.status, {
      'content-type': 'application/json',
      'x-amzn-errortype': `${f.code}:http://internal.amazon.com/coral/com.amazonaws.eks/`,
    });
    res.end(JSON.stringify({ ...extra, message: f.message }));
  };

  const assumeRole = (res: ServerResponse, record: AwsRequestRecord, caller: { arn: string; keyId: string }, p: Record<string, string>) => {
    const roleArn = p['RoleArn'] ?? '';
    const sessionName = p['RoleSessionName'] ?? '';
    const duration = Number(p['DurationSeconds'] ?? '3600');
    const role = options.roles?.[roleArn];
    const denied = {
      status: 403,
      code: 'AccessDenied',
      message: `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    };
    if (
      !role ||
      (role.trusted && !role.trusted.includes(caller.keyId)) ||
      (role.externalId !== undefined && p['ExternalId'] !== role.externalId)
    ) {
      return stsError(res, record, denied);
    }
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      return stsError(res, record, {
        status: 400,
        code: 'ValidationError',
        message: `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint`,
      });
    }
    const credentials: IssuedCredentials = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(48).toString('base64')}`,
      expiration: new Date(Math.floor(now() / 1000) * 1000 + duration * 1000),
      roleArn,
      sessionName,
      externalId: p['ExternalId'],
    };
    issued.push(credentials);
    const roleName = roleArn.split('/').pop();
    const body = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:${xml(sessionName)}</AssumedRoleId>
      <Arn>arn:aws:sts::${account}:assumed-role/${xml(roleName ?? '')}/${xml(sessionName)}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${credentials.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${xml(credentials.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${xml(credentials.sessionToken)}</SessionToken>
      <Expiration>${credentials.expiration.toISOString().replace('.000Z', 'Z')}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>${randomBytes(16).toString('hex')}</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>
`;
    record.status = 200;
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const rawPath = req.url ?? '/';
    const url = new URL(rawPath, 'http://standin');
    const record: AwsRequestRecord = { service: 'unknown', action: '', accessKeyId: undefined, scope: undefined, params: {}, status: 0 };
    records.push(record);

    const cluster = /^\/clusters\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && cluster) {
      record.service = 'eks';
      record.action = 'DescribeCluster';
      const name = decodeURIComponent(cluster[1]!);
      record.params = { name };
      const who = authenticate(req, rawPath, body, 'eks', record);
      if ('code' in who) return eksError(res, record, who);
      const fault = faults.get('DescribeCluster');
      if (fault) return eksError(res, record, fault);
      const c = options.clusters?.[name];
      if (!c)
        return eksError(
          res,
          record,
          { status: 404, code: 'ResourceNotFoundException', message: `No cluster found for name: ${name}.` },
          { clusterName: name },
        );
      record.status = 200;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          cluster: {
            name,
            arn: `arn:aws:eks:${region}:${account}:cluster/${name}`,
            createdAt: 1.7e9,
            version: '1.31',
            endpoint: c.endpoint,
            roleArn: `arn:aws:iam::${account}:role/eks-cluster`,
            status: c.status ?? 'ACTIVE',
            certificateAuthority: { data: c.caData },
            platformVersion: 'eks.12',
          },
        }),
      );
      return;
    }
    if (req.method === 'POST' && url.pathname === '/') {
      record.service = 'sts';
      const params = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
      record.params = params;
      record.action = params['Action'] ?? '';
      const who = authenticate(req, rawPath, body, 'sts', record);
      if ('code' in who) return stsError(res, record, who);
      const fault = faults.get(record.action);
      if (fault) return stsError(res, record, fault);
      if (record.action === 'AssumeRole') return assumeRole(res, record, who, params);
      return stsError(res, record, {
        status: 400,
        code: 'InvalidAction',
        message: `Could not find operation ${record.action} for version ${params['Version']}`,
      });
    }
    record.status = 404;
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: `no route for ${req.method} ${url.pathname}` }));
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const verifyEksToken = (token: string, clusterName: string): TokenVerdict => {
    const prefix = 'k8s-aws-v1.';
    if (!token.startsWith(prefix)) return { ok: false, reason: 'no k8s-aws-v1. prefix' };
    const encoded = token.slice(prefix.length);
    if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return { ok: false, reason: 'not base64url without padding' };
    let presigned: URL;
    try {
      presigned = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'not a URL' };
    }
    const expectedHost = `sts.${region}.amazonaws.com`;
    if (presigned.protocol !== 'https:' || presigned.host !== expectedHost || presigned.pathname !== '/') {
      return { ok: false, reason: `URL is not https://${expectedHost}/: ${presigned.origin}${presigned.pathname}` };
    }
    const q = presigned.searchParams;
    if (q.get('Action') !== 'GetCallerIdentity' || q.get('Version') !== '2011-06-15')
      return { ok: false, reason: 'not GetCallerIdentity 2011-06-15' };
    if (q.get('X-Amz-Algorithm') !== ALGORITHM) return { ok: false, reason: 'not AWS4-HMAC-SHA256' };
    const expires = Number(q.get('X-Amz-Expires'));
    if (!(expires > 0 && expires <= 60)) return { ok: false, reason: `X-Amz-Expires ${q.get('X-Amz-Expires')}` };
    const signedHeaders = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
    if (!signedHeaders.includes('host') || !signedHeaders.includes('x-k8s-aws-id'))
      return { ok: false, reason: `signed headers ${signedHeaders.join(';')}` };
    const credential = q.get('X-Amz-Credential') ?? '';
    const [keyId, , scopeRegion, scopeService] = credential.split('/');
    if (scopeRegion !== region || scopeService !== 'sts') return { ok: false, reason: `credential scope ${scopeRegion}/${scopeService}` };
    const info = keyInfo(keyId ?? '');
    if (!info) return { ok: false, reason: `unknown access key ${keyId}` };
    if (info.sessionToken !== undefined) {
      if (q.get('X-Amz-Security-Token') !== info.sessionToken) return { ok: false, reason: 'wrong session token' };
      if (info.expiration!.getTime() <= now()) return { ok: false, reason: 'the temporary credentials have expired' };
    }
    const signedAt = parseAmzDate(q.get('X-Amz-Date') ?? '');
    if (!signedAt) return { ok: false, reason: 'no X-Amz-Date' };
    const age = now() - signedAt.getTime();
    if (age > TOKEN_MAX_AGE_MS) return { ok: false, reason: `signed ${Math.round(age / 1000)} s ago: expired` };
    if (age < -5 * 60_000) return { ok: false, reason: 'signed in the future' };
    const signature = q.get('X-Amz-Signature') ?? '';
    const query = [...q.entries()].filter(([k]) => k !== 'X-Amz-Signature');
    const expected = signatureOf(
      {
        method: 'GET',
        path: '/',
        query,
        headers: { host: expectedHost, 'x-k8s-aws-id': clusterName },
        signedHeaders,
        payloadHash: sha256(''),
        amzDate: q.get('X-Amz-Date')!,
        credential,
        signature,
      },
      info.secret,
    );
    if (expected !== signature) return { ok: false, reason: `the signature does not verify for cluster '${clusterName}'` };
    return { ok: true, accessKeyId: keyId!, signedAt };
  };

  return {
    url,
    region,
    issued,
    requests: (filter = {}) => records.filter((r) => filter.action === undefined || r.action === filter.action),
    fail(action, fault) {
      if (fault) faults.set(action, fault);
      else faults.delete(action);
    },
    verifyEksToken,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
