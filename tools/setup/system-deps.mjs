#!/usr/bin/env node
// Run first by `npm test`: installs the Debian packages the tests need (tools/setup/system.mjs,
// DEBIAN_PACKAGES) when any is missing, as root or through sudo; where it cannot, stops at once
// with the one command to run. When everything is installed: one dpkg-query, nothing printed.
import { spawnSync } from 'node:child_process';
import { DEBIAN_PACKAGES, installCommand, missingPackages } from './system.mjs';

const say = (msg) => console.error(`system-deps: ${msg}`);
const missing = missingPackages();

if (missing === undefined) {
  say(
    `not a Debian system (no dpkg-query); tests that need a system program fail naming it. They use: ${Object.keys(DEBIAN_PACKAGES).join(' ')}`,
  );
  process.exit(0);
}
if (missing.length === 0) process.exit(0);

const stop = (why) => {
  say(`missing Debian packages: ${missing.join(' ')} (${why}). Run:\n\n  ${installCommand(missing)}\n\nthen run the tests again.`);
  process.exit(1);
};

/** The prefix that runs apt-get as root: none (root), or sudo (without a password, or asking on a terminal). */
function rootPrefix() {
  if (process.getuid?.() === 0) return [];
  const sudo = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
  if (sudo.error) return undefined; // no sudo
  if (sudo.status === 0 || process.stdin.isTTY) return ['sudo'];
  return undefined; // sudo wants a password and there is no terminal to ask on
}

const prefix = rootPrefix();
if (prefix === undefined) stop('not root, and no sudo that can run here');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const apt = (args) => {
  const [cmd, ...rest] = [...prefix, 'apt-get', ...args];
  say(`${cmd} ${rest.join(' ')}`);
  const r = spawnSync(cmd, rest, { env, stdio: 'inherit' });
  if (r.status !== 0) stop(`${cmd} ${rest.join(' ')} failed${r.error ? `: ${r.error.message}` : ''}`);
};
say(`installing ${missing.join(' ')}`);
apt(['update', '-qq']);
apt(['install', '-y', '-qq', ...missing]);
const still = missingPackages(missing) ?? missing;
if (still.length > 0) stop(`still not installed after apt-get install: ${still.join(' ')}`);
say('done');
