// The address at which other machines reach ports that a public process publishes on 0.0.0.0:
// the Docker host's primary IPv4 address, not 0.0.0.0 (which the original reported, and which
// no client can connect to).
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

// Interfaces that Docker, libvirt and CNI plugins create: their addresses are only reachable
// from this machine.
const VIRTUAL_INTERFACE = /^(docker|br-|veth|virbr|cni|flannel|cali|vxlan|kube|tun|tap|podman|lxc|lo)/;

/** The IPv4 address of the interface that carries the default route, else the first real one, else 127.0.0.1. */
export async function primaryIPv4(): Promise<string> {
  const interfaces = networkInterfaces();
  const ipv4Of = (name: string) => interfaces[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  const routed = await defaultRouteInterface();
  const fromRoute = routed === undefined ? undefined : ipv4Of(routed);
  if (fromRoute) return fromRoute;
  for (const name of Object.keys(interfaces)) {
    if (VIRTUAL_INTERFACE.test(name)) continue;
    const address = ipv4Of(name);
    if (address) return address;
  }
  return '127.0.0.1';
}

/** Linux only: the interface of the default route in /proc/net/route; undefined elsewhere. */
async function defaultRouteInterface(): Promise<string | undefined> {
  let table: string;
  try {
    table = await readFile('/proc/net/route', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of table.split('\n').slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && destination === '00000000' && mask === '00000000') return iface;
  }
  return undefined;
}

/**
 * Resolves the public host for an Engine: the local machine's primary IPv4 when the Engine is
 * local, else the remote Engine's address (resolved when it is a name).
 */
export async function publicHostFor(remoteHost: string | undefined): Promise<string> {
  if (remoteHost === undefined || remoteHost === 'localhost' || remoteHost.startsWith('127.') || remoteHost === '::1') {
    return primaryIPv4();
  }
  if (isIP(remoteHost)) return remoteHost;
  try {
    return (await lookup(remoteHost, { family: 4 })).address;
  } catch {
    return remoteHost;
  }
}

/** How long a resolved public host is used again before it is asked anew. */
export const PUBLIC_HOST_TTL_MS = 30_000;

/**
 * publicHostFor, asked at most once per `ttlMs` (calls meanwhile share its answer, also while it is
 * in flight). Every container on a bridge network gives the host a network interface (its veth),
 * and os.networkInterfaces() reads them all: with 500 containers it took 14 ms of CPU (half of it
 * in the kernel) and 55 ms on a loaded 2-core VM, for every list, get and start that names a
 * public port (bench/README.md, "What bounds each figure"). The host's address changes rarely; a
 * failure is not kept, so that the next call asks again.
 */
export function cachedPublicHost(
  remoteHost: string | undefined,
  options: { ttlMs?: number; now?: () => number; resolve?: (remoteHost: string | undefined) => Promise<string> } = {},
): () => Promise<string> {
  const ttlMs = options.ttlMs ?? PUBLIC_HOST_TTL_MS;
  const now = options.now ?? (() => performance.now());
  const resolve = options.resolve ?? publicHostFor;
  let cached: { host: Promise<string>; at: number } | undefined;
  return () => {
    const at = now();
    if (cached === undefined || at - cached.at >= ttlMs) {
      const host = resolve(remoteHost);
      cached = { host, at };
      host.catch(() => {
        if (cached?.host === host) cached = undefined;
      });
    }
    return cached.host;
  };
}
