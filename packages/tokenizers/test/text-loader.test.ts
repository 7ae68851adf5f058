/** Malformed tokenizer.json: typed errors naming the field; fuzzed input never crashes otherwise. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHfJson, stringifyHfJson, TokenizerError, TokenizerFormatError, trainBpe } from '../src/index.js';

const valid = stringifyHfJson(trainBpe(['hello world, hello there\n', 'the cat sat\n'], { vocabSize: 270, minFrequency: 1 }));
const base = (): Record<string, unknown> => JSON.parse(valid) as Record<string, unknown>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each case corrupts an arbitrary path of untyped parsed JSON
type Mutate = (j: any) => void;
const cases: [string, Mutate, string][] = [
  ['vocab id is a string', (j) => (j.model.vocab['a'] = 'x'), 'model.vocab["a"]'],
  ['vocab id is negative', (j) => (j.model.vocab['a'] = -3), 'model.vocab["a"]'],
  ['vocab ids collide', (j) => (j.model.vocab['a'] = j.model.vocab['b']), 'model.vocab['],
  ['vocab is an array', (j) => (j.model.vocab = []), 'model.vocab'],
  ['merge is one token', (j) => (j.model.merges[2] = 'abc'), 'model.merges[2]'],
  ['merge has three parts', (j) => (j.model.merges[0] = ['a', 'b', 'c']), 'model.merges[0]'],
  ['merges is an object', (j) => (j.model.merges = {}), 'model.merges'],
  ['merge uses an unknown token', (j) => (j.model.merges[1] = ['zzzq', 'x']), 'model'],
  ['model is WordPiece', (j) => (j.model.type = 'WordPiece'), 'model.type'],
  ['dropout is set', (j) => (j.model.dropout = 0.1), 'model.dropout'],
  ['byte fallback', (j) => (j.model.byte_fallback = true), 'model.byte_fallback'],
  ['fuse_unk not a boolean', (j) => (j.model.fuse_unk = 'yes'), 'model.fuse_unk'],
  ['unk token not in vocab', (j) => (j.model.unk_token = '<unk>'), 'model'],
  ['pre-tokenizer is Whitespace', (j) => (j.pre_tokenizer = { type: 'Whitespace' }), 'pre_tokenizer.type'],
  ['pre-tokenizer missing', (j) => delete j.pre_tokenizer, 'pre_tokenizer'],
  ['add_prefix_space not boolean', (j) => (j.pre_tokenizer.add_prefix_space = 1), 'pre_tokenizer.add_prefix_space'],
  ['normalizer present', (j) => (j.normalizer = { type: 'NFC' }), 'normalizer'],
  ['decoder is WordPiece', (j) => (j.decoder = { type: 'WordPiece' }), 'decoder.type'],
  ['post-processor is a template', (j) => (j.post_processor = { type: 'TemplateProcessing' }), 'post_processor.type'],
  ['padding present', (j) => (j.padding = { strategy: 'BatchLongest' }), 'padding'],
  ['added token id missing', (j) => delete j.added_tokens[0].id, 'added_tokens[0].id'],
  ['added token empty', (j) => (j.added_tokens[1].content = ''), 'added_tokens[1].content'],
  ['added token special is a string', (j) => (j.added_tokens[2].special = 'true'), 'added_tokens[2].special'],
  ['added tokens share an id', (j) => (j.added_tokens[1].id = j.added_tokens[0].id), 'added_tokens'],
  ['model missing', (j) => delete j.model, 'model'],
  ['root is an array', (j) => j, '(root)'],
];

describe('tokenizer.json loader errors', () => {
  it.each(cases)('%s -> TokenizerFormatError at %s', (_name, mutate, field) => {
    const j = base();
    mutate(j);
    const text = field === '(root)' ? '[1, 2]' : JSON.stringify(j);
    let err: unknown;
    try {
      parseHfJson(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TokenizerFormatError);
    expect((err as TokenizerFormatError).field.startsWith(field)).toBe(true);
    expect((err as Error).message.length).toBeGreaterThan(field.length + 10);
  });

  it('reports invalid JSON as a format error of the root', () => {
    expect(() => parseHfJson('{"model": ')).toThrow(/\(root\): not valid JSON/);
  });

  it('accepts the legacy "a b" merge spelling with the same ids', () => {
    const j = base() as { model: { merges: [string, string][] | string[] } };
    const tok = parseHfJson(valid);
    j.model.merges = (j.model.merges as [string, string][]).map(([a, b]) => `${a} ${b}`);
    expect(parseHfJson(JSON.stringify(j)).encode('hello the cat')).toEqual(tok.encode('hello the cat'));
  });
});

/** Every (path, value) position of a JSON value, for mutation. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

/** Loading must either work (and then encode/decode work) or throw a TokenizerError. */
function loadsOrTypedError(text: string): void {
  try {
    const tok = parseHfJson(text);
    const ids = tok.encode('Hello <bos> wörld 😀\n');
    tok.decode(ids.filter((i) => tok.idToToken(i) !== undefined));
  } catch (e) {
    if (!(e instanceof TokenizerError)) throw e;
  }
}

describe('tokenizer.json loader fuzz', () => {
  it('random JSON values never crash with anything but a TokenizerError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => loadsOrTypedError(JSON.stringify(v))),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string(), (s) => loadsOrTypedError(s)),
      { numRuns: 200 },
    );
  });

  it('mutated valid files (replace, delete, truncate) never crash with anything but a TokenizerError', () => {
    // Every path, but only every 17th vocabulary entry (there are 270 of them).
    const all = paths(base()).filter((p, i) => p.length > 0 && (p[1] !== 'vocab' || p.length < 3 || i % 17 === 0));
    const mutation = fc.record({
      path: fc.constantFrom(...all),
      kind: fc.constantFrom('replace', 'delete', 'truncate'),
      value: fc.jsonValue({ maxDepth: 2 }),
      cut: fc.integer({ min: 0, max: valid.length }),
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
        for (const m of ms) {
          if (m.kind === 'truncate') {
            loadsOrTypedError(valid.slice(0, m.cut));
            continue;
          }
          const j = base();
          let o: unknown = j;
          for (const k of m.path.slice(0, -1)) o = (o as Record<string | number, unknown> | null | undefined)?.[k];
          if (o === null || typeof o !== 'object') continue;
          const last = m.path[m.path.length - 1]!;
          const parent = o as Record<string | number, unknown>;
          if (m.kind === 'delete') delete parent[last];
          else parent[last] = m.value;
          loadsOrTypedError(JSON.stringify(j));
        }
      }),
      { numRuns: 600 },
    );
  });
});
