import type { ProcessInfo } from './api.ts';

type SocketAddress = ProcessInfo['socket_addresses'][number];

/** "45s", "12m", "3h 20m", "5d 4h": how long ago `created` was. */
export function twoUnitAge(created: string, now = Date.now()): string {
  const start = Date.parse(created);
  if (Number.isNaN(start)) return '?';
  return twoUnits(Math.max(0, Math.floor((now - start) / 1000)));
}

/** "45s", "12m", "3h 20m": how long until `time`; "0s" once it has passed. */
export function timeUntil(time: string, now = Date.now()): string {
  const end = Date.parse(time);
  if (Number.isNaN(end)) return '?';
  return twoUnits(Math.max(0, Math.ceil((end - now) / 1000)));
}

function twoUnits(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function hostPort(address: SocketAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

export function addressUrl(address: SocketAddress): string {
  return `http://${hostPort(address)}/`;
}

export function byName(a: ProcessInfo, b: ProcessInfo): number {
  return a.process_name.localeCompare(b.process_name);
}

/** Whether the process has ended: then it can only be removed, not stopped. */
export function ended(process: Pick<ProcessInfo, 'status'>): boolean {
  return process.status === 'EXITED' || process.status === 'FAILED';
}

/**
 * "14:03:07": a time of day in the reader's zone, 24-hour. Not toLocaleTimeString: its first call
 * loads the locale's data, some 50 ms of the main thread that the first render of the list waited for.
 */
export function timeOfDay(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** "14:03:07": the time of day of an ISO time, in the reader's zone; the date too when it is not today. */
export function clockTime(time: string, now = Date.now()): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return '?';
  const sameDay = date.toDateString() === new Date(now).toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}
