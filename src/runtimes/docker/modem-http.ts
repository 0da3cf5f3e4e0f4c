// docker-modem sends every Engine request through its lib/http.js, a copy of an early
// follow-redirects: a 3xx with a Location makes it send a second request, to whatever host the
// Location names, and that request has no 'error' listener, so a failure of it ends the process.
// An Engine never redirects a well-formed API call (its router answers 301 for a path that
// cleans to another one, such as a name with encoded dots and slashes), so a 3xx is an error
// here: both protocols go straight to Node's request, and docker-modem reports the 3xx as an
// unexpected status like any other. This module has to be the very one that docker-modem loads
// (also inside the bundle), hence the static import of its path.
import nativeHttp from 'node:http';
import nativeHttps from 'node:https';
import modemHttp from 'docker-modem/lib/http.js';

modemHttp.http.request = nativeHttp.request;
modemHttp.http.get = nativeHttp.get;
modemHttp.https.request = nativeHttps.request;
modemHttp.https.get = nativeHttps.get;
modemHttp.maxRedirects = 0;

/** Whether docker-modem's requests go straight to Node's (for tests and a start-up check). */
export function redirectsDisabled(): boolean {
  return modemHttp.http.request === nativeHttp.request && modemHttp.https.request === nativeHttps.request;
}
