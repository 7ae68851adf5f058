/**
 * Where a saved model lives: a directory path, or the name of an installed checkpoint package
 * (e.g. `@zipper/checkpoint-text-small`), found with Node's module resolution from `from`
 * (default: the current working directory), as `require.resolve('<name>/package.json')` would.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CheckpointError } from '../errors.js';

const PACKAGE_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

export function resolveModelLocation(nameOrPath: string, options: { from?: string } = {}): string {
  const asPath = path.resolve(nameOrPath);
  if (existsSync(asPath) && statSync(asPath).isDirectory()) return asPath;
  const relative = nameOrPath.startsWith('.') || nameOrPath.startsWith('/') || nameOrPath.includes('\\');
  if (relative || !PACKAGE_NAME.test(nameOrPath))
    throw new CheckpointError(`${asPath} is not a directory; pass a model directory or the name of an installed checkpoint package`);
  const from = path.resolve(options.from ?? process.cwd());
  try {
    return path.dirname(createRequire(path.join(from, 'noop.js')).resolve(`${nameOrPath}/package.json`));
  } catch {
    throw new CheckpointError(
      `"${nameOrPath}" is neither a directory nor a package installed where ${from} can import it; npm install ${nameOrPath}, or pass the model's directory`,
    );
  }
}
