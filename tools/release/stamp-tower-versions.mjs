#!/usr/bin/env node
// Release step, run by `npm run version-packages` right after `changeset version`: a fused checkpoint
// package (packages/checkpoints/*/model/zipper.json) names the exact name, version and sha256 of
// every tower checkpoint it was trained on. It is trained before the release bumps the towers'
// versions, so it names the version the tower package had then. For each tower that is a
// checkpoint package of this workspace, this checks that the package still ships the weights the
// fused model was trained on (the same sha256) and writes the package's new version into
// model/zipper.json, run.json, README.md and package.json's description. A tower whose weights
// changed after the fused model was trained is an error: retrain the fused model on them (or do
// not ship the change), never relabel it.
//
//   node tools/release/stamp-tower-versions.mjs [--root DIR] [--check]
//
// --check changes nothing and exits 1 when a version would change. Prints one JSON line per
// fused package.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export class StampError extends Error {
  name = 'StampError';
}

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const writeJson = (file, value) => fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The checkpoint packages under ROOT/packages/checkpoints: name -> { dir, version, sha256 of its tower weights }. */
function towerPackages(root) {
  const base = path.join(root, 'packages', 'checkpoints');
  const out = new Map();
  if (!fs.existsSync(base)) return out;
  for (const d of fs.readdirSync(base)) {
    const dir = path.join(base, d);
    const pkgFile = path.join(dir, 'package.json');
    const meta = path.join(dir, 'tower', 'metadata.json');
    if (!fs.existsSync(pkgFile) || !fs.existsSync(meta)) continue;
    const pkg = readJson(pkgFile);
    out.set(pkg.name, { dir, version: pkg.version, sha256: readJson(meta).weights.sha256 });
  }
  return out;
}

/**
 * Stamps every fused checkpoint package under `root` (see the file header). Returns one record per
 * fused package: { package, changes: [{ tower, from, to }] }. With `check`, writes nothing.
 */
export function stampTowerVersions(root, { check = false } = {}) {
  const towers = towerPackages(root);
  const base = path.join(root, 'packages', 'checkpoints');
  const records = [];
  if (!fs.existsSync(base)) return records;
  for (const d of fs.readdirSync(base).sort()) {
    const dir = path.join(base, d);
    const zipperFile = path.join(dir, 'model', 'zipper.json');
    if (!fs.existsSync(zipperFile)) continue;
    const pkgFile = path.join(dir, 'package.json');
    const pkg = readJson(pkgFile);
    const info = readJson(zipperFile);
    const changes = [];
    for (const t of info.towers) {
      const ref = t.checkpoint;
      const tower = ref && towers.get(ref.name);
      if (!tower) continue; // a tower from outside this workspace: its version is whatever it was
      if (tower.sha256 !== ref.sha256)
        throw new StampError(
          `${pkg.name}: tower "${t.name}" was trained on ${ref.name} with weights sha256 ${ref.sha256}, but ${path.relative(root, tower.dir)} now ships ${tower.sha256}; retrain the fused model on the new tower (zipper fuse train) or revert the tower's weights`,
        );
      if (ref.version !== tower.version) changes.push({ tower: ref.name, from: ref.version, to: tower.version });
    }
    records.push({ package: pkg.name, changes });
    if (check || changes.length === 0) continue;
    for (const t of info.towers) {
      const c = changes.find((x) => x.tower === t.checkpoint?.name);
      if (c) t.checkpoint.version = c.to;
    }
    writeJson(zipperFile, info);
    const runFile = path.join(dir, 'run.json');
    if (fs.existsSync(runFile)) {
      const run = readJson(runFile);
      for (const t of Object.values(run.towers ?? {})) {
        const c = changes.find((x) => x.tower === t.name);
        if (c && t.sha256 === info.towers.find((x) => x.checkpoint?.name === t.name)?.checkpoint.sha256) t.version = c.to;
      }
      writeJson(runFile, run);
    }
    const relabel = (text) =>
      changes.reduce(
        (s, c) =>
          s.replace(new RegExp(`${escape(c.tower)}@${escape(String(c.from))}(?![0-9A-Za-z-]|\\.[0-9A-Za-z])`, 'g'), `${c.tower}@${c.to}`),
        text,
      );
    const readme = path.join(dir, 'README.md');
    if (fs.existsSync(readme)) fs.writeFileSync(readme, relabel(fs.readFileSync(readme, 'utf8')));
    if (typeof pkg.description === 'string') {
      pkg.description = relabel(pkg.description);
      writeJson(pkgFile, pkg);
    }
  }
  return records;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--root');
  const root = at >= 0 ? path.resolve(args[at + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const check = args.includes('--check');
  try {
    const records = stampTowerVersions(root, { check });
    for (const r of records) console.log(JSON.stringify(r));
    if (check && records.some((r) => r.changes.length > 0)) process.exitCode = 1;
  } catch (e) {
    console.error(e instanceof StampError ? `stamp-tower-versions: ${e.message}` : e);
    process.exitCode = 1;
  }
}
