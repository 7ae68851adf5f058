/** Progress of the apps: one rewritten stderr line, shown only when stderr is a terminal (never in pipes, logs or tests). */
export interface AppProgress {
  update(line: string): void;
  /** Clears the line (before the result is printed). */
  done(): void;
}

export function appProgress(stream: NodeJS.WriteStream = process.stderr): AppProgress {
  if (!stream.isTTY) return { update: () => undefined, done: () => undefined };
  let shown = false;
  return {
    update(line) {
      stream.write(`\r\x1b[2K${line}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
