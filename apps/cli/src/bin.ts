import { ZipperError } from '@zipper/core';
import { TokenizerError } from '@zipper/tokenizers';
import { UsageError } from './command.js';
import { COMMANDS } from './commands/index.js';

function help(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return ['usage: zipper <command> [options]', '', ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`), '', 'zipper <command> --help for its options'].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(help());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`zipper: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ZipperError || err instanceof TokenizerError) {
      console.error(`zipper: ${err.name}: ${err.message}`);
      process.exit(err instanceof UsageError ? 2 : 1);
    }
    console.error(err);
    process.exit(1);
  },
);
