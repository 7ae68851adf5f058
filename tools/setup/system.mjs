// What the machine must provide beyond npm packages: the Debian packages the tests, the data
// builder and the benchmarks use, one dpkg-query to check them, the command that installs them,
// and the helpers through which tests and tools find a system program, file or PyTorch
// interpreter. A missing one throws SystemDependencyError naming the install command, never ENOENT.
// `node tools/setup/system-deps.mjs` (run first by `npm test`) installs what is missing.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Every Debian package the test suite needs, with what it is for. */
export const DEBIAN_PACKAGES = Object.freeze({
  flite: 'speech synthesis (data builder, speech tests)',
  'espeak-ng': 'speech synthesis, second voice family (data builder)',
  sox: 'resampling and tempo changes (data builder)',
  pocketsphinx: 'independent speech recognizer (vocoder WER)',
  'pocketsphinx-en-us': 'its English acoustic model',
  sctk: 'NIST sclite (WER scoring)',
  fortunes: 'text corpus',
  'fortunes-min': 'text corpus',
  'wordnet-base': 'text corpus (WordNet glosses)',
  'bible-kjv': 'the `bible` program (reads the KJV text)',
  'bible-kjv-text': 'text corpus (King James Bible)',
  wamerican: "word list (the word LM's dictionary: zipper lm build --dictionary /usr/share/dict/american-english)",
  'python3-torch': 'PyTorch reference (interop, parity, benchmarks)',
  'libopenblas0-pthread': "PyTorch's BLAS",
  chromium: 'browser tests',
});

/** A program, file or interpreter the machine lacks; the message says how to get it. */
export class SystemDependencyError extends Error {
  /**
   * @param {string} what what is missing
   * @param {readonly string[]} packages the Debian packages that provide it
   * @param {string} [fix] what to do (default: the command that installs `packages`)
   */
  constructor(what, packages, fix = `install it with: ${installCommand(packages)}`) {
    super(`${what}; ${fix}`);
    this.name = 'SystemDependencyError';
    this.packages = packages;
  }
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The one shell command that installs `packages` (with sudo unless root). */
export function installCommand(packages = Object.keys(DEBIAN_PACKAGES)) {
  const sudo = isRoot() ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y ${packages.join(' ')}`;
}

/**
 * The packages of `packages` that are not installed, from one dpkg-query call; undefined when
 * this is not a Debian system (no dpkg-query).
 */
export function missingPackages(packages = Object.keys(DEBIAN_PACKAGES)) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package}\\t${db:Status-Abbrev}\\n', ...packages], { encoding: 'utf8' });
  if (r.error) return undefined;
  const installed = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .filter(([, status]) => status?.startsWith('ii'))
      .map(([name]) => name),
  );
  return packages.filter((p) => !installed.has(p));
}

/** @param {string} spec space-separated package names, each one of DEBIAN_PACKAGES */
function packagesOf(spec) {
  const names = spec.split(/\s+/).filter(Boolean);
  for (const n of names)
    if (!(n in DEBIAN_PACKAGES))
      throw new Error(`${n} is not in DEBIAN_PACKAGES (tools/setup/system.mjs): add it there so the set-up installs it`);
  return names;
}

function isExecutable(p) {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Every executable named `name` on `env.PATH`, in PATH order. */
function onPath(name, env) {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .filter(isExecutable);
}

/**
 * Absolute path of program `name` (looked up on PATH, or an absolute path checked as is);
 * throws SystemDependencyError naming `debianPackage` when it is missing.
 */
export function requireProgram(name, debianPackage, env = process.env) {
  const packages = packagesOf(debianPackage);
  const found = isAbsolute(name) ? (isExecutable(name) ? [name] : []) : onPath(name, env);
  if (found[0] === undefined) throw new SystemDependencyError(`program "${name}" not found${isAbsolute(name) ? '' : ' on PATH'}`, packages);
  return found[0];
}

/** `path` if it exists; else throws SystemDependencyError naming `debianPackage`. */
export function requireFile(path, debianPackage) {
  const packages = packagesOf(debianPackage);
  try {
    statSync(path);
  } catch {
    throw new SystemDependencyError(`"${path}" not found`, packages);
  }
  return path;
}

/** The environment for PyTorch runs: without this machine's OpenBLAS overrides. */
export function torchEnv(env = process.env) {
  const out = { ...env };
  delete out.OPENBLAS_CORETYPE;
  delete out.OPENBLAS_L2_SIZE;
  return out;
}

const found = new Map();

/**
 * The Python interpreter that runs the PyTorch reference: `env.ZIPPER_PYTHON` if set, else the
 * first `python3` on PATH that can `import torch` (a pyenv shim before /usr/bin may lack it).
 * Returns { python } or { error } (a SystemDependencyError saying what to do). Checked once per
 * process and environment.
 */
export function findTorchPython(env = process.env) {
  const key = `${env.ZIPPER_PYTHON ?? ''}\0${env.PATH ?? ''}`;
  let result = found.get(key);
  if (result) return result;
  const canImport = (py) => spawnSync(py, ['-c', 'import torch'], { env: torchEnv(env), stdio: 'ignore' }).status === 0;
  if (env.ZIPPER_PYTHON) {
    result = canImport(env.ZIPPER_PYTHON)
      ? { python: env.ZIPPER_PYTHON }
      : {
          error: new SystemDependencyError(
            `ZIPPER_PYTHON=${env.ZIPPER_PYTHON} cannot import torch`,
            ['python3-torch'],
            'point ZIPPER_PYTHON at a python3 that can, or unset it',
          ),
        };
  } else {
    const candidates = onPath('python3', env);
    const python = candidates.find(canImport);
    result = python
      ? { python }
      : {
          error: new SystemDependencyError(
            `no python3 on PATH can import torch (tried: ${candidates.join(', ') || 'none'})`,
            ['python3-torch'],
            `install it with: ${installCommand(['python3-torch'])}, or set ZIPPER_PYTHON`,
          ),
        };
  }
  found.set(key, result);
  return result;
}

/** findTorchPython's interpreter; throws its SystemDependencyError when there is none. */
export function requireTorchPython(env = process.env) {
  const r = findTorchPython(env);
  if (r.error) throw r.error;
  return r.python;
}
