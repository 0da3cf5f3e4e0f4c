// Where the Engine is: config.docker_host, else DOCKER_HOST, else the local socket; or, for a
// connection made elsewhere (tests pass one), what it is connected to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type DockerModem from 'docker-modem';
import type Dockerode from 'dockerode';
import { withoutPassword } from '../../address-text.ts';
import { HydroplaneError } from '../../errors.ts';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

export interface EngineConnection {
  /** Options for `new Dockerode(...)`. */
  options: Dockerode.DockerOptions;
  /** The address as people write it, for messages: "unix:///var/run/docker.sock". */
  endpoint: string;
  /** The Engine's host name or IP when it is reached over the network (tcp, http, https). */
  remoteHost?: string;
}

/**
 * Parses an Engine address: unix:///path, npipe:////./pipe/name, tcp://host:port,
 * http://host:port, https://host:port, or a bare socket path. TLS (https, or tcp with
 * DOCKER_TLS_VERIFY=1 or port 2376) takes its certificates from DOCKER_CERT_PATH when set.
 */
export function engineConnection(dockerHost: string | undefined, env: NodeJS.ProcessEnv = process.env): EngineConnection {
  const address = dockerHost ?? (env.DOCKER_HOST || undefined) ?? `unix://${DEFAULT_SOCKET}`;
  // Every key is set, even to undefined: docker-modem merges DOCKER_HOST's own options under
  // ours, and a stray `host` from the environment would win over our socket path.
  const base = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined } as const;

  if (address.startsWith('/')) {
    return { options: { ...base, socketPath: address }, endpoint: `unix://${address}` };
  }
  if (address.startsWith('unix://') || address.startsWith('npipe://')) {
    const scheme = address.startsWith('unix://') ? 'unix://' : 'npipe://';
    const path = address.slice(scheme.length) || (scheme === 'unix://' ? DEFAULT_SOCKET : '//./pipe/docker_engine');
    return { options: { ...base, socketPath: path }, endpoint: `${scheme}${path}` };
  }

  let url: URL;
  try {
    url = new URL(address.includes('://') ? address : `tcp://${address}`);
  } catch {
    throw invalid(address);
  }
  if (!['tcp:', 'http:', 'https:'].includes(url.protocol) || url.hostname === '') throw invalid(address);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const tls = url.protocol === 'https:' || (url.protocol === 'tcp:' && (env.DOCKER_TLS_VERIFY === '1' || url.port === '2376'));
  const port = url.port || (tls ? '2376' : '2375');
  const options: Dockerode.DockerOptions = { ...base, host, port, protocol: tls ? 'https' : 'http' };
  if (tls && env.DOCKER_CERT_PATH) {
    const certs = env.DOCKER_CERT_PATH;
    try {
      options.ca = readFileSync(join(certs, 'ca.pem'));
      options.cert = readFileSync(join(certs, 'cert.pem'));
      options.key = readFileSync(join(certs, 'key.pem'));
    } catch (err) {
      throw new HydroplaneError(
        'invalid_config',
        `the docker runtime cannot read the TLS certificates for ${withoutPassword(address)} in DOCKER_CERT_PATH (${certs}): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return { options, endpoint: `${url.protocol}//${url.host}`, remoteHost: host };
}

/** Names the Engine that an injected connection talks to, for messages and the public host. */
export function describeEngine(modem: DockerModem): Pick<EngineConnection, 'endpoint' | 'remoteHost'> {
  const reached = modem as unknown as { socketPath?: unknown; host?: string; port?: string | number; protocol?: string };
  if (typeof reached.socketPath === 'string') return { endpoint: `unix://${reached.socketPath}`, remoteHost: undefined };
  if (reached.host) {
    const port = reached.port ? `:${reached.port}` : '';
    return { endpoint: `${reached.protocol ?? 'http'}://${reached.host}${port}`, remoteHost: reached.host };
  }
  return { endpoint: 'the default Docker socket', remoteHost: undefined };
}

function invalid(address: string): HydroplaneError {
  return new HydroplaneError(
    'invalid_config',
    `the docker runtime does not understand the Engine address '${withoutPassword(address)}' (from docker_host or DOCKER_HOST): ` +
      'use unix:///path/to/docker.sock, tcp://host:port, http://host:port or https://host:port',
  );
}
