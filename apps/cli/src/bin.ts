import { main, reportError } from './main.js';

/**
 * Exits once stdout and stderr have handed everything written to the OS. process.exit() alone
 * drops what a pipe has not yet taken (writes to a pipe are asynchronous on POSIX), so
 * `zipper bpe encode --in big.txt | wc -w` lost all but the first 64 KiB. A write's callback runs
 * after every earlier write on that stream has completed.
 */
const exitAfterFlush = (code: number): void => {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
};

// main() never rejects: it prints errors itself and resolves to the exit code. An error thrown
// outside its promise chain (a stray rejection, an exception in a callback) gets the same one line.
const fatal = (err: unknown): void => {
  const { message, code } = reportError(err);
  console.error(message);
  exitAfterFlush(code);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

void main(process.argv.slice(2)).then(exitAfterFlush);
