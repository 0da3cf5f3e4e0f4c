// The server as a V8 start-up snapshot's builder script, for bench/ab-snapshot.ts: loading this
// file runs every module's top-level code of the server; the blob keeps the resulting heap, and a
// start from the blob only runs main(). Not shipped: the measurements in bench/README.md ("Cold
// start") say why.
import { startupSnapshot } from 'node:v8';
import { main } from '../../src/cli/server-command.ts';

startupSnapshot.setDeserializeMainFunction(() => {
  // From a blob, process.argv is [node, first argument, ...]: the bench passes 'hydroplane' first,
  // where a script's path would be, as commander expects.
  void main();
});
