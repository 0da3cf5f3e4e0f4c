// Stands in for the ssh2 package in the bundled server. docker-modem loads ssh2 as it loads, for
// ssh:// Engine addresses, which Hydroplane refuses (src/runtimes/docker/connection.ts); the
// real package compiles WebAssembly as it loads, about 30 ms of every start.
'use strict';

class Client {
  constructor() {
    throw new Error('ssh:// Docker Engine addresses are not supported; use unix://, tcp:// or https://');
  }
}

module.exports = { Client };
