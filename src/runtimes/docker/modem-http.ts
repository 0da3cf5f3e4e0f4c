// docker-modem sends every Engine request through its lib/http.js, a copy of an early
// follow-redirects: a 3xx with a Location makes it send a second request, to whatever host the
// Location names, and that request has no 'error' listener, so a failure of it ends the process.
// An Engine never redirects a well-formed API call (its router answers 301 for a path that
// cleans to another one, such as a name with encoded dots and slashes), so a 3xx is an error
// here: both protocols go straight to Node's request, and docker-modem reports the 3xx as an
// unexpected status like any other. This module has to be the very one that docker-modem loads
// (also inside the bundle), hence the static import of its path.
// https is loaded at the first request that needs it, as the bundle does for docker-modem's own
// require (build/bundle.config.ts): an Engine on a unix socket or plain tcp:// never does.
import nativeHttp, { type ClientRequest } from 'node:http';
import type * as Https from 'node:https';
import modemHttp from 'docker-modem/lib/http.js';

type AnyRequest = (...args: unknown[]) => ClientRequest;
const nativeHttps = () => process.getBuiltinModule('node:https');
const httpsRequest = ((...args: unknown[]) => (nativeHttps().request as AnyRequest)(...args)) as typeof Https.request;
const httpsGet = ((...args: unknown[]) => (nativeHttps().get as AnyRequest)(...args)) as typeof Https.get;

modemHttp.http.request = nativeHttp.request;
modemHttp.http.get = nativeHttp.get;
modemHttp.https.request = httpsRequest;
modemHttp.https.get = httpsGet;
modemHttp.maxRedirects = 0;

/** Whether docker-modem's requests go straight to Node's (for tests and a start-up check). */
export function redirectsDisabled(): boolean {
  return modemHttp.http.request === nativeHttp.request && modemHttp.https.request === httpsRequest && modemHttp.https.get === httpsGet;
}
