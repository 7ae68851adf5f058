#!/usr/bin/env node
// The `zipper` command. npm links this committed file at install time, before anything is built;
// it runs the built CLI (../dist/bin.js), building it first when it is missing (right after
// `npm ci`). The build's output goes to stderr, so `zipper ... --json` keeps a clean stdout.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(built)) {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const build = ['turbo', 'run', 'build', '--filter=@zipper/cli...', '--output-logs=errors-only'];
  process.stderr.write(`zipper: the CLI is not built yet; building it: npx ${build.join(' ')}\n`);
  const r = spawnSync('npx', build, { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0 || !existsSync(built)) {
    process.stderr.write(
      `zipper: the build failed${r.error ? ` (${r.error.message})` : ''}; run \`npx turbo run build\` in ${root} and try again\n`,
    );
    process.exit(1);
  }
}
await import(built.href);
