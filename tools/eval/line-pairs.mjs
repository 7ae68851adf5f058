// The transcript files of the tools in tools/eval: one utterance a line, a reference file and one or
// more hypothesis files of the same utterances (e.g. one per seed), pooled. A hypothesis file whose
// line count differs from the reference's ends the tool with exit 2 and a message naming both.
import { readFileSync } from 'node:fs';

/** A file's lines (one trailing newline dropped). */
const fileLines = (f) => readFileSync(f, 'utf8').replace(/\n$/, '').split('\n');

/** Every [reference line, hypothesis line] of each file of `hypFiles` against `refFile`, file by file. */
export function linePairs(refFile, hypFiles) {
  const refs = fileLines(refFile);
  const pairs = [];
  for (const file of hypFiles) {
    const hyps = fileLines(file);
    if (hyps.length !== refs.length) {
      console.error(`${refFile} has ${refs.length} lines, ${file} ${hyps.length}: one utterance a line in both`);
      process.exit(2);
    }
    refs.forEach((ref, u) => pairs.push([ref, hyps[u]]));
  }
  return pairs;
}
