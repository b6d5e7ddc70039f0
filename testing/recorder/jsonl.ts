import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';

/** First line each writer appends when it opens a file: it tells readers that a (new) process took over. */
export interface OpenMarker {
  v: 1;
  phase: 'open';
  pid: number;
  at: number;
}

export const isOpenMarker = (value: unknown): value is OpenMarker =>
  typeof value === 'object' && value !== null && (value as { phase?: unknown }).phase === 'open';

/**
 * Append-only JSONL file. Every line goes to the kernel with one `write` as it is recorded (no fsync, no user-space
 * buffer), so a SIGKILLed process loses nothing it recorded except possibly a torn last line. Opening an existing
 * file whose last line is torn first terminates it, then appends an open marker.
 */
export class JsonlWriter {
  private fd: number | undefined;

  constructor(
    readonly filePath: string,
    now: () => number = Date.now,
  ) {
    const torn = existsSync(filePath) && statSync(filePath).size > 0 && !endsWithNewline(filePath);
    this.fd = openSync(filePath, 'a');
    if (torn) writeSync(this.fd, '\n');
    this.write({ v: 1, phase: 'open', pid: process.pid, at: now() } satisfies OpenMarker);
  }

  write(value: unknown): void {
    if (this.fd === undefined) throw new Error(`JsonlWriter(${this.filePath}): write after close`);
    writeSync(this.fd, JSON.stringify(value) + '\n');
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

function endsWithNewline(filePath: string): boolean {
  const fd = openSync(filePath, 'r');
  try {
    const buf = Buffer.alloc(1);
    readSync(fd, buf, 0, 1, statSync(filePath).size - 1);
    return buf[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

export interface JsonlLine {
  file: string;
  /** 1-based line number. */
  line: number;
  value: unknown;
}

/**
 * Parses a JSONL file written by `JsonlWriter`. A line that is not valid JSON is a torn write of a killed process and
 * is skipped when it is the last line or the next line is an open marker (the process was restarted); anywhere else
 * it is an error naming the file and line.
 */
export function readJsonlFile(file: string): { lines: JsonlLine[]; tornLines: number } {
  const raw = readFileSync(file, 'utf8').split('\n');
  const lines: JsonlLine[] = [];
  let tornLines = 0;
  let pendingTorn: { line: number; text: string } | undefined;
  const failTorn = () => {
    if (pendingTorn) {
      throw new Error(`${file}:${pendingTorn.line}: malformed JSONL line (not at the end of a run): ${pendingTorn.text.slice(0, 200)}`);
    }
  };
  raw.forEach((text, i) => {
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      failTorn();
      pendingTorn = { line: i + 1, text };
      return;
    }
    if (pendingTorn) {
      if (!isOpenMarker(value)) failTorn();
      tornLines++;
      pendingTorn = undefined;
    }
    lines.push({ file, line: i + 1, value });
  });
  if (pendingTorn) tornLines++;
  return { lines, tornLines };
}
