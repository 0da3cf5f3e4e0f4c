// The Node the commands need, checked before anything else is loaded: on an older Node the bundle
// would die of a SyntaxError or a missing export, which says nothing about the cause.

export const MIN_NODE_MAJOR = 22;

/** Why `version` (process.versions.node) is too old for `command`, or undefined when it will do. */
export function nodeTooOld(command: string, version: string, execPath: string): string | undefined {
  const major = Number(version.split('.')[0]);
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined;
  return (
    `${command}: needs Node ${MIN_NODE_MAJOR} or newer, and ${execPath} is Node ${version}. ` +
    `From a checkout, run bin/${command}, which uses the project's own Node 24 (npm ci installs it); ` +
    `elsewhere, install Node 24 LTS.\n`
  );
}

/** Exits with 1 and one line on stderr when this Node is too old for `command`. */
export function refuseOldNode(command: string): void {
  const problem = nodeTooOld(command, process.versions.node, process.execPath);
  if (problem === undefined) return;
  process.stderr.write(problem);
  process.exit(1);
}
