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
