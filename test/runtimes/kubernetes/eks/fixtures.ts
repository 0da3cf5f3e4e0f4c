// What the EKS tests share: the stand-in's keys, role and cluster, and the config that names them.
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { EKS_TOKEN_PREFIX } from '../../../../src/runtimes/kubernetes/eks/token.ts';
import { EksRuntimeConfig } from '../../../../src/config/schema.ts';
import { MemorySecretStore } from '../../../support/memory-secret-store.ts';

export const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const ROLE = 'arn:aws:iam::123456789012:role/hydroplane-eks';
export const EXTERNAL_ID = 'ext-7c1d';
export const REGION = 'us-west-2';
export const CLUSTER = 'demo';
export const MINUTE = 60_000;
export const silent = pino({ level: 'silent' }) as FastifyBaseLogger;

export const secrets = () => new MemorySecretStore({ aws: JSON.stringify({ id: KEY_ID, secret: SECRET }), 'eks-external-id': EXTERNAL_ID });

export function eksConfig(
  aws: { url: string },
  extra: Record<string, unknown> = {},
  assumeRole?: Record<string, unknown>,
): EksRuntimeConfig {
  return EksRuntimeConfig.parse({
    runtime_type: 'eks',
    cluster_name: CLUSTER,
    region: REGION,
    sts_endpoint: aws.url,
    eks_endpoint: aws.url,
    credentials: {
      access_key: { access_key_id: { secret_name: 'aws', key: 'id' }, secret_access_key: { secret_name: 'aws', key: 'secret' } },
      ...(assumeRole ? { assume_role: assumeRole } : {}),
    },
    ...extra,
  });
}

export const withRole = { role_arn: ROLE, external_id: { secret_name: 'eks-external-id' } };

/** The presigned URL inside a token. */
export function tokenUrl(token: string): URL {
  return new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
}
