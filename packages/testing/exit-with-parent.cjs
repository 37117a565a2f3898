// Preloaded (`node --require`) into every service process the e2e harness spawns. The
// harness holds the write end of this process's stdin, so stdin ending means the test
// process is gone — even killed with SIGKILL, which runs no cleanup of its own. The
// service then shuts down the way it does in production (SIGTERM), with a hard exit if
// that hangs, so no service outlives the test run.
const hardExitAfterMs = 5_000;

let gone = false;
function parentGone() {
  if (gone) return;
  gone = true;
  setTimeout(() => process.exit(1), hardExitAfterMs).unref();
  process.kill(process.pid, 'SIGTERM');
}

process.stdin.on('end', parentGone);
process.stdin.on('error', parentGone);
process.stdin.resume();
// Watching stdin must not keep a service alive that is shutting down by itself.
process.stdin.unref();
