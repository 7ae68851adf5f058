/**
 * README examples that run as tests: a test file holds the example between `// <NAME>-START` and
 * `// <NAME>-END` marker lines, runs it, and checks that the README contains those lines verbatim
 * (dedented by the example's indent), so the README stays true.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** The lines between the markers `// <name>-START` and `// <name>-END` of `source`, without `indent` leading spaces. */
export function markedSnippet(source: string, name: string, indent = 0): string {
  const body = source.split(`// ${name}-START\n`)[1]?.split(`// ${name}-END`)[0];
  if (body === undefined) throw new Error(`no // ${name}-START ... // ${name}-END in the test file`);
  const pad = new RegExp(`^ {${indent}}`);
  return body
    .split('\n')
    .map((l) => l.replace(pad, ''))
    .join('\n')
    .trim();
}

/** Asserts that the README at `readme` contains each named snippet of the test file at `test` (`import.meta.url`). */
export function expectReadmeHolds(test: string, readme: URL, snippets: readonly { name: string; indent?: number }[]): void {
  const source = readFileSync(new URL(test), 'utf8');
  const text = readFileSync(readme, 'utf8');
  for (const s of snippets) expect(text).toContain(markedSnippet(source, s.name, s.indent));
}
