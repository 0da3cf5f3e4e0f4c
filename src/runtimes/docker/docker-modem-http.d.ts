// docker-modem's internal request module (lib/http.js), which modem-http.ts replaces.
declare module 'docker-modem/lib/http.js' {
  import type * as http from 'node:http';
  import type * as https from 'node:https';
  interface Protocol<M> {
    request: M extends 'https' ? typeof https.request : typeof http.request;
    get: M extends 'https' ? typeof https.get : typeof http.get;
  }
  const modemHttp: { http: Protocol<'http'>; https: Protocol<'https'>; maxRedirects: number };
  export default modemHttp;
}
