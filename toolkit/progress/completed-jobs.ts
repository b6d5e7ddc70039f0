import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { HISTORY_FILE_RE } from '../cluster/run-dir.js';

/**
 * Counts completed jobs in JSONL job histories as they grow (the files the nodes' history recorders append to):
 * each call reads only the bytes added since the previous one, so a progress line can poll it every few hundred
 * milliseconds during a run of millions of jobs. A completion is an `end` line whose outcome is `completed` (or
 * absent), as the history assembler reads it.
 */
export class CompletedJobsCounter {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();
  private readonly decoders = new Map<string, StringDecoder>();
  private completed = 0;

  /** `source`: a run dir (its `history-*.jsonl` files, also those created later) or a list of history files. */
  constructor(private readonly source: string | readonly string[]) {}

  count(): number {
    for (const file of this.files()) this.readNew(file);
    return this.completed;
  }

  private files(): string[] {
    if (typeof this.source !== 'string') return this.source.filter(existsSync);
    if (!existsSync(this.source)) return [];
    return readdirSync(this.source)
      .filter((name) => HISTORY_FILE_RE.test(name))
      .map((name) => join(this.source as string, name));
  }

  private readNew(file: string): void {
    const fd = openSync(file, 'r');
    try {
      const from = this.offsets.get(file) ?? 0;
      const size = fstatSync(fd).size;
      if (size <= from) return;
      const buf = Buffer.alloc(size - from);
      const n = readSync(fd, buf, 0, buf.length, from);
      this.offsets.set(file, from + n);
      let decoder = this.decoders.get(file);
      if (!decoder) this.decoders.set(file, (decoder = new StringDecoder('utf8')));
      const text = (this.partial.get(file) ?? '') + decoder.write(buf.subarray(0, n));
      const lines = text.split('\n');
      this.partial.set(file, lines.pop() ?? '');
      for (const line of lines) if (isCompletion(line)) this.completed += 1;
    } finally {
      closeSync(fd);
    }
  }
}

function isCompletion(line: string): boolean {
  if (!line.includes('"end"')) return false;
  try {
    const v = JSON.parse(line) as { phase?: unknown; outcome?: unknown };
    return v.phase === 'end' && (v.outcome === undefined || v.outcome === 'completed');
  } catch {
    return false; // a torn line
  }
}
