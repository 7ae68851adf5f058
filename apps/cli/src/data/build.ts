import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { countOverrides, resolveDataBuildConfig, type DataBuildConfig, type DataBuildOptions, type SplitCounts } from './config.js';
import { cpuSeconds } from './cpu.js';
import { buildCorpus, type Corpus, type SourceStats } from './corpus.js';
import { chooseFreshDev } from './fresh-dev.js';
import { manifestFiles, manifestRecord, toJsonl, type ManifestRecord, type Rendered } from './manifest.js';
import { itemSpecHash, planBuild, type AudioItem } from './plan.js';
import { Progress } from './progress.js';
import { renderReadme } from './readme.js';
import { readAllSources, sourcesFingerprint } from './sources.js';
import { sha256Hex as sha256 } from '@zipper/common/node';
import { optionalSetsOf, type BuildInfo, type ManifestSummary } from '@zipper/data';
import { fileSha256, Journal, writeAtomic } from './store.js';
import { synthesize } from './synth.js';
import { requireTools, type ToolName } from './tools.js';
import { encodeWav } from './wav.js';

/**
 * What build.json holds: `@zipper/data`'s BuildInfo (the reader's type), with the builder's own
 * types for the counts it changed and the per-source statistics.
 */
export interface BuildSummary extends BuildInfo {
  /** Only in builds whose split counts differ from the size's defaults (`--aligned`): those counts. */
  readonly counts?: Partial<SplitCounts>;
  readonly sources: readonly SourceStats[];
}

export interface BuildResult {
  readonly out: string;
  readonly summary: BuildSummary;
  /** Utterances synthesized in this run, and reused from an earlier run (journal + sha256 verified). */
  readonly synthesized: number;
  readonly reused: number;
  readonly seconds: number;
  /** CPU seconds of this run (builder process and its synthesizer/sox children), if /proc is readable. */
  readonly cpuSeconds?: number;
}

const TOOLS_NEEDED: readonly ToolName[] = ['flite', 'espeak-ng', 'sox', 'bible'];

/**
 * `zipper data build`: text corpus (and --fresh-dev's file) -> split plan -> audio (2 synthesis
 * processes at a time, resumable) -> JSONL manifests, build.json and README.md in `out`.
 */
export async function buildData(opts: DataBuildOptions): Promise<BuildResult> {
  const t0 = Date.now();
  const cpu0 = cpuSeconds();
  const cfg = resolveDataBuildConfig(opts);
  const tools = requireTools(TOOLS_NEEDED, cfg.env); // fail before any work
  const corpus = loadCorpus(cfg.env);
  const fresh = cfg.freshDev !== undefined ? chooseFreshDev(corpus.sentences, cfg) : undefined;
  const plan = planBuild(corpus.sentences, cfg, fresh?.sentences);

  mkdirSync(cfg.out, { recursive: true });
  const tmpDir = join(cfg.out, '.tmp');
  rmSync(tmpDir, { recursive: true, force: true }); // leftovers of an interrupted run
  mkdirSync(tmpDir, { recursive: true });

  const textOnly = `${plan.textOnly.join('\n')}\n`;
  writeAtomic(join(cfg.out, 'text-only.txt'), textOnly);

  const { rendered, synthesized, reused } = await renderAll(plan.items, cfg, tools, tmpDir);

  const manifests: ManifestSummary[] = [];
  for (const [file, items] of manifestFiles(plan.items)) {
    const records: ManifestRecord[] = items.map((it) => manifestRecord(it, rendered.get(it.id)!, cfg.sampleRate));
    writeAtomic(join(cfg.out, file), toJsonl(records));
    const hours = records.reduce((a, r) => a + r.samples, 0) / cfg.sampleRate / 3600;
    manifests.push({ file, utterances: records.length, hours, voices: [...new Set(records.map((r) => r.voice))].sort() });
  }
  const overrides = countOverrides(cfg);
  const summary: BuildSummary = {
    size: cfg.size,
    seed: cfg.seed,
    ...(overrides ? { counts: overrides } : {}),
    ...optionalSetsOf({ ...cfg, freshDev: fresh?.info }),
    sampleRate: cfg.sampleRate,
    corpusSentences: corpus.sentences.length,
    textOnly: { file: 'text-only.txt', sentences: plan.textOnly.length, bytes: Buffer.byteLength(textOnly), sha256: sha256(textOnly) },
    manifests,
    sources: corpus.sources,
  };
  writeAtomic(join(cfg.out, 'build.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeAtomic(join(cfg.out, 'README.md'), renderReadme(summary, cfg));
  rmSync(tmpDir, { recursive: true, force: true });
  const cpu1 = cpuSeconds();
  const cpu = cpu0 && cpu1 ? cpu1.self + cpu1.children - cpu0.self - cpu0.children : undefined;
  return { out: cfg.out, summary, synthesized, reused, seconds: (Date.now() - t0) / 1000, ...(cpu !== undefined ? { cpuSeconds: cpu } : {}) };
}

let cached: { key: string; corpus: Corpus } | undefined;

/** The normalized corpus, memoized in-process while the source files are unchanged (repeated builds, tests). */
export function loadCorpus(env: NodeJS.ProcessEnv): Corpus {
  const key = sourcesFingerprint(env);
  if (cached?.key !== key) cached = { key, corpus: buildCorpus(readAllSources(env)) };
  return cached.corpus;
}

/** Reuses verified files from the journal, synthesizes the rest `cfg.jobs` at a time. */
async function renderAll(items: readonly AudioItem[], cfg: DataBuildConfig, tools: Record<ToolName, string>, tmpDir: string) {
  const journal = new Journal(join(cfg.out, '.journal.jsonl'));
  const rendered = new Map<string, Rendered>();
  const todo: AudioItem[] = [];
  const verify = new Progress('verify', items.length, process.stderr, cfg.progress && journal.size > 0);
  for (const it of items) {
    const e = journal.get(it.id);
    if (e && e.spec === itemSpecHash(it, cfg) && fileSha256(join(cfg.out, it.path)) === e.sha256) rendered.set(it.id, e);
    else todo.push(it);
    verify.tick();
  }
  const reused = rendered.size;
  const bar = new Progress('synthesize', todo.length, process.stderr, cfg.progress && todo.length > 0);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < todo.length) {
      const it = todo[next++]!;
      try {
        const samples = await synthesize(it, cfg, tools, tmpDir);
        const wav = encodeWav(samples, cfg.sampleRate);
        const r = { sha256: sha256(wav), samples: samples.length };
        writeAtomic(join(cfg.out, it.path), wav);
        journal.add({ id: it.id, spec: itemSpecHash(it, cfg), ...r });
        rendered.set(it.id, r);
        bar.tick();
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.jobs, todo.length) }, worker));
  return { rendered, synthesized: todo.length, reused };
}
