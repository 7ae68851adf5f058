/**
 * ModelFiles: a tower loads from fetched bytes (fetchModelFiles over a stub server that streams
 * the saved files in chunks) exactly as from its directory: every weight bit-identical, the same
 * checks (a flipped weight byte is refused by sha256, a missing file names the URL and status),
 * progress per file up to its size, and no tensor left behind.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  directoryFiles,
  fetchModelFiles,
  initBackend,
  joinLocation,
  loadTower,
  readTowerCheckpointInfo,
  saveTower,
  Tower,
  type FetchProgress,
  type FetchResponse,
} from '../src/index.js';

const BASE = 'http://models.test/zoo/';
let root: string;

/** A server over `root`: GET BASE + path streams the file in 997-byte chunks with Content-Length; `patch` may alter the bytes. */
function stubFetch(patch: (url: string, bytes: Uint8Array) => Uint8Array = (_, b) => b): (url: string) => Promise<FetchResponse> {
  return async (url) => {
    const file = path.join(root, 'zoo', decodeURIComponent(url.slice(BASE.length)));
    if (!url.startsWith(BASE) || !existsSync(file) || !statSync(file).isFile())
      return {
        ok: false,
        status: 404,
        statusText: 'Not Found',
        headers: { get: () => null },
        body: null,
        arrayBuffer: async () => new ArrayBuffer(0),
      };
    const bytes = patch(url, new Uint8Array(readFileSync(file)));
    let at = 0;
    return {
      ok: true,
      status: 200,
      statusText: 'OK',
      headers: { get: (name: string) => (name.toLowerCase() === 'content-length' ? String(bytes.length) : null) },
      body: {
        getReader: () => ({
          read: async () => {
            if (at >= bytes.length) return { done: true };
            const value = bytes.slice(at, at + 997);
            at += value.length;
            return { done: false, value };
          },
        }),
      },
      arrayBuffer: async () => bytes.slice().buffer,
    };
  };
}

describe('ModelFiles', () => {
  beforeAll(async () => {
    await initBackend();
    root = mkdtempSync(path.join(os.tmpdir(), 'zipper-model-files-'));
    const tower = Tower.create({ vocabSize: 13, dModel: 28, nLayers: 2, nHeads: 2, maxSeqLen: 11 }, { seed: 7 });
    await saveTower(path.join(root, 'zoo', 'tower'), tower, { dtype: 'float16' });
    tower.dispose();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a tower loads from fetched bytes as from disk: every weight bit-identical, progress up to each file size, no tensor left', async () => {
    const before = tf.memory().numTensors;
    const disk = await loadTower(path.join(root, 'zoo', 'tower'));
    const events: FetchProgress[] = [];
    const files = fetchModelFiles(BASE, { fetch: stubFetch(), onProgress: (p) => events.push(p) });
    const fetched = await loadTower(files.at('tower'));
    expect([...fetched.params.keys()]).toEqual([...disk.params.keys()]);
    for (const [k, v] of disk.params) expect(fetched.params.get(k)!.dataSync()).toEqual(v.dataSync());
    const weights = `${BASE}tower/model.safetensors`;
    const size = statSync(path.join(root, 'zoo', 'tower', 'model.safetensors')).size;
    const mine = events.filter((e) => e.url === weights);
    expect(mine.length).toBeGreaterThan(2); // streamed in chunks
    expect(mine.map((e) => e.loaded)).toEqual([...mine.map((e) => e.loaded)].sort((a, b) => a - b));
    expect(mine.at(-1)).toEqual({ url: weights, loaded: size, total: size, done: true });
    expect(
      events
        .filter((e) => e.done)
        .map((e) => e.url.slice(BASE.length))
        .sort(),
    ).toEqual(['tower/config.json', 'tower/metadata.json', 'tower/model.safetensors']);
    disk.dispose();
    fetched.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses what loading from disk refuses: a flipped weight byte (sha256), a missing file (URL and status)', async () => {
    const flip = stubFetch((url, b) => {
      if (!url.endsWith('model.safetensors')) return b;
      const c = b.slice();
      c[c.length - 3]! ^= 1;
      return c;
    });
    await expect(loadTower(fetchModelFiles(`${BASE}tower/`, { fetch: flip }))).rejects.toThrow(
      /tower\/model\.safetensors: sha256 [0-9a-f]{64} does not match [0-9a-f]{64} in metadata\.json/,
    );
    const missing = fetchModelFiles(`${BASE}nowhere/`, { fetch: stubFetch() });
    await expect(readTowerCheckpointInfo(missing)).rejects.toThrow(CheckpointError);
    await expect(readTowerCheckpointInfo(missing)).rejects.toThrow(`cannot fetch ${BASE}nowhere/metadata.json: HTTP 404 Not Found`);
  });

  it("a host's index page for a missing file (200, HTML) is refused as not the file, by content-type and by its bytes", async () => {
    const page = new TextEncoder().encode('\ufeff\n  <!DOCTYPE html><html><body>app</body></html>');
    /** A single-page-app host: files under root as stubFetch serves them, anything else 200 with the index page. */
    const spa = (contentType: string | null) => {
      const files = stubFetch();
      return async (url: string): Promise<FetchResponse> => {
        const r = await files(url);
        if (r.ok) return r;
        return {
          ok: true,
          status: 200,
          statusText: 'OK',
          headers: { get: (name: string) => (name.toLowerCase() === 'content-type' ? contentType : null) },
          body: null,
          arrayBuffer: async () => page.slice().buffer,
        };
      };
    };
    for (const type of ['text/html; charset=utf-8', null]) {
      const files = fetchModelFiles(BASE, { fetch: spa(type) });
      const tower = await loadTower(files.at('tower')); // the files that exist still load
      tower.dispose();
      const missing = files.at('nowhere');
      await expect(readTowerCheckpointInfo(missing)).rejects.toThrow(CheckpointError);
      await expect(readTowerCheckpointInfo(missing)).rejects.toThrow(
        `cannot fetch ${BASE}nowhere/metadata.json: the server answered with an HTML page (${type ? 'content-type text/html' : 'its body starts like an HTML document'}), not the file`,
      );
      // an .html file is HTML by right
      expect(new TextDecoder().decode(await files.read('nowhere/index.html'))).toContain('<html>');
    }
  });

  it('paths resolve as on disk and as URLs: at(), ../, joinLocation', async () => {
    const dir = directoryFiles(path.join(root, 'zoo'));
    const viaParent = dir.at('tower').at('../tower');
    expect(viaParent.location).toBe(path.join(root, 'zoo', 'tower'));
    expect(await viaParent.read('config.json')).toEqual(new Uint8Array(readFileSync(path.join(root, 'zoo', 'tower', 'config.json'))));
    await expect(dir.read('nope.json')).rejects.toThrow(`cannot read ${path.join(root, 'zoo', 'nope.json')}: ENOENT`);
    const web = fetchModelFiles(BASE, { fetch: stubFetch() });
    expect(web.at('tower').at('../tokenizer').location).toBe(`${BASE}tokenizer/`);
    expect(joinLocation('/a/b', 'c.json')).toBe('/a/b/c.json');
    expect(joinLocation('http://h/x/', 'y')).toBe('http://h/x/y');
    expect(joinLocation('/a', '/abs/p')).toBe('/abs/p');
  });
});
