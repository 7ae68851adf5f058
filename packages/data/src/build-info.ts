/** `build.json`: the summary a data build writes next to its manifests (counts, hours, hashes). */
import { DataDirError } from './errors.js';
import { holdsOptionalSet, OPTIONAL_SETS, optionalSetOf, type AudioSplit, type OptionalSet, type OptionalSetField, type OptionalSetPresence } from './splits.js';

export interface ManifestSummary {
  readonly file: string;
  readonly utterances: number;
  readonly hours: number;
  readonly voices: readonly string[];
}

export interface TextOnlySummary {
  readonly file: string;
  readonly sentences: number;
  readonly bytes: number;
  /** SHA-256 of text-only.txt. */
  readonly sha256: string;
}

/**
 * build.json's record of a set made from a file the user gave (`zipper data build --fresh-dev
 * FILE`): which file (its base name; the path is the builder's business, the bytes are named by
 * `sha256`), how many of its sentences were usable and how many were chosen.
 */
export interface FreshDevInfo {
  /** The file's base name, e.g. `anarchism` (what `buildArgs` prints after `--fresh-dev`). */
  readonly file: string;
  /** SHA-256 of the file's bytes: names the exact file. */
  readonly sha256: string;
  /** Its usable sentences: normalized, within the audio splits' word range, in no split of the corpus, unique. */
  readonly sentences: number;
  /** How many of them the fresh-dev splits hold (dev's count). */
  readonly chosen: number;
}

/** What build.json records of an optional set: `true`, or the file's record for a set made from a file (`arg: 'FILE'`). */
export type OptionalSetValue<F extends OptionalSetField> = Extract<OptionalSet, { field: F }>['arg'] extends 'FILE' ? FreshDevInfo : true;

/** The optional sets as build.json records them: `{ noisy: true, freshDev: { file, ... } }` (only those a build holds). */
export type OptionalSets = { readonly [F in OptionalSetField]?: OptionalSetValue<F> };

export interface BuildInfo {
  /** `tiny`, `small` or `full`. */
  readonly size: string;
  readonly seed: number;
  /** Only in builds whose split counts differ from the size's defaults (`zipper data build --aligned N`): those counts. */
  readonly counts?: Readonly<Record<string, number>>;
  /** Only in builds made with `zipper data build --noisy`: they also hold aligned-noisy.* and dev-noisy. */
  readonly noisy?: true;
  /** Only in builds made with `zipper data build --tts-voice-sets`: they also hold dev-tts-voice and test-clean-tts-voice. */
  readonly ttsVoiceSets?: true;
  /** Only in builds made with `zipper data build --dev-other`: they also hold dev-other. */
  readonly devOther?: true;
  /** Only in builds made with `zipper data build --fresh-dev FILE`: they also hold fresh-dev and fresh-dev-tts-voice, made from that file. */
  readonly freshDev?: FreshDevInfo;
  readonly sampleRate: number;
  readonly corpusSentences: number;
  readonly textOnly: TextOnlySummary;
  readonly manifests: readonly ManifestSummary[];
  /** Per text source: name, sentences, hashes (free-form). */
  readonly sources: readonly unknown[];
}

/** What names a data build: its size, seed, any split counts changed from the size's defaults, --noisy, --tts-voice-sets, --dev-other and --fresh-dev's file. */
export type BuildIdentity = Pick<BuildInfo, 'size' | 'seed' | 'counts' | OptionalSetField>;

/** Where a run's data build is and which one it is: the `data` record of the run files. */
export interface BuildRef extends BuildIdentity {
  readonly dir: string;
  /** sha256 of the build's build.json: the exact data build. */
  readonly buildSha256: string;
}

/** The `data` record a run file keeps of the build it trained on (`counts`, `noisy`, `ttsVoiceSets`, `devOther` and `freshDev` only when the build has them). */
export function buildRef(dir: string, build: BuildInfo, buildSha256: string): BuildRef {
  return {
    dir,
    buildSha256,
    size: build.size,
    seed: build.seed,
    ...(build.counts ? { counts: build.counts } : {}),
    ...optionalSetsOf(build),
  };
}

/**
 * The `zipper data build` arguments that make this build (after `--out DIR`). Counts the command
 * has no flag for (only `--aligned` has one; others come from `buildData({ counts })`) are named
 * after them in parentheses. A set made from a file prints the file's base name (`--fresh-dev
 * anarchism`): its path is not recorded, build.json's sha256 names its bytes.
 */
export function buildArgs(b: BuildIdentity): string {
  const { aligned, ...other } = b.counts ?? {};
  const rest = Object.keys(other).length > 0 ? ` (buildData counts ${JSON.stringify(other)})` : '';
  const sets = OPTIONAL_SETS.map((o) => {
    const v = b[o.field];
    if (!holdsOptionalSet(b, o.field)) return '';
    return typeof v === 'object' ? ` ${o.flag} ${v.file}` : ` ${o.flag}`;
  });
  return `--size ${b.size} --seed ${b.seed}${aligned !== undefined ? ` --aligned ${aligned}` : ''}${sets.join('')}${rest}`;
}

/** A short dataset name for model cards, e.g. `zipper-data-build-full-seed0` (`-aligned15000` when grown, `-noisy` with --noisy, `-ttsvoice` with --tts-voice-sets, `-devother` with --dev-other, `-freshdev` with --fresh-dev). */
export function buildName(b: BuildIdentity): string {
  const counts = Object.entries(b.counts ?? {}).map(([k, v]) => `-${k}${v}`);
  return `zipper-data-build-${b.size}-seed${b.seed}${counts.join('')}${OPTIONAL_SETS.map((o) => (holdsOptionalSet(b, o.field) ? o.nameSuffix : '')).join('')}`;
}

/** Whether a build holds `split`: every build has the base splits, a build made with `--noisy` / `--tts-voice-sets` / `--dev-other` / `--fresh-dev` also that flag's. */
export function buildHasSplit(build: OptionalSetPresence, split: AudioSplit): boolean {
  const set = optionalSetOf(split);
  return set === undefined || holdsOptionalSet(build, set.field);
}

/**
 * The optional renderings a build holds, as build.json records them (`{ noisy: true, freshDev: {
 * file, ... } }`, in `OPTIONAL_SETS` order), from build.json or a builder's choices (`false` or
 * absent: not held).
 */
export function optionalSetsOf(build: { readonly [F in OptionalSetField]?: OptionalSetValue<F> | false | undefined }): OptionalSets {
  return Object.fromEntries(OPTIONAL_SETS.flatMap((o) => (holdsOptionalSet(build, o.field) ? [[o.field, build[o.field]]] : [])));
}

/** Checks build.json's record of a set made from a file (`FreshDevInfo`); the reason it is not one, or undefined when it is. */
function fileSetProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object';
  const r = v as Record<string, unknown>;
  if (typeof r.file !== 'string' || r.file === '') return '"file" is not a non-empty string';
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) return '"sha256" is not 64 hex digits';
  if (!Number.isInteger(r.chosen) || (r.chosen as number) < 1) return '"chosen" is not an integer >= 1';
  if (!Number.isInteger(r.sentences) || (r.sentences as number) < (r.chosen as number)) return '"sentences" is not an integer >= chosen';
  return undefined;
}

/** Parses and checks build.json; throws DataDirError naming the file and the field. */
export function parseBuildInfo(text: string, file: string): BuildInfo {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DataDirError(`${file}: not valid JSON (${(e as Error).message}); rebuild the data with npx zipper data build`);
  }
  const bad = (field: string, want: string): never => {
    throw new DataDirError(`${file}: field "${field}" must be ${want}; is this the build.json of \`zipper data build\`?`);
  };
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) bad('(root)', 'an object');
  if (typeof o.size !== 'string') bad('size', 'a string');
  if (!Number.isInteger(o.seed)) bad('seed', 'an integer');
  if (o.counts !== undefined && (typeof o.counts !== 'object' || o.counts === null || !Object.values(o.counts).every((n) => Number.isInteger(n) && (n as number) >= 1))) bad('counts', 'an object of integer split counts >= 1');
  for (const { field, arg } of OPTIONAL_SETS) {
    if (o[field] === undefined) continue;
    if (arg === 'FILE') {
      const problem = fileSetProblem(o[field]);
      if (problem) bad(field, `{ file, sha256, sentences, chosen } when present (${problem})`);
    } else if (o[field] !== true) bad(field, 'true when present');
  }
  if (!Number.isInteger(o.sampleRate) || (o.sampleRate as number) <= 0) bad('sampleRate', 'a positive integer');
  const t = o.textOnly as Record<string, unknown> | undefined;
  if (typeof t !== 'object' || t === null || typeof t.file !== 'string' || typeof t.sha256 !== 'string' || !Number.isInteger(t.sentences)) bad('textOnly', '{ file, sentences, bytes, sha256 }');
  if (!Array.isArray(o.manifests)) bad('manifests', 'an array');
  (o.manifests as unknown[]).forEach((m, i) => {
    const r = m as Record<string, unknown>;
    if (typeof r?.file !== 'string' || !Number.isInteger(r.utterances) || typeof r.hours !== 'number' || !Array.isArray(r.voices)) bad(`manifests[${i}]`, '{ file, utterances, hours, voices }');
  });
  return { ...(o as unknown as BuildInfo), sources: Array.isArray(o.sources) ? o.sources : [] };
}
