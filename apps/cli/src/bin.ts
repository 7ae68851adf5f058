import { main, reportError } from './main.js';

// main() never rejects: it prints errors itself and resolves to the exit code. An error thrown
// outside its promise chain (a stray rejection, an exception in a callback) gets the same one line.
const fatal = (err: unknown): void => {
  const { message, code } = reportError(err);
  console.error(message);
  process.exit(code);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

void main(process.argv.slice(2)).then((code) => process.exit(code));
