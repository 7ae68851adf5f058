import { main } from './main.js';

// main() never rejects: it prints errors itself and resolves to the exit code.
void main(process.argv.slice(2)).then((code) => process.exit(code));
