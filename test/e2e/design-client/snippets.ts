// Reads the design document the way a user does: the code block under a heading, the install line.

/** The first fenced code block of the section that starts at `heading` (exact line, e.g. "### 4. Queue Jobs"). */
export function extractSnippet(markdown: string, heading: string, source = 'the design'): string {
  const lines = markdown.split(/\r?\n/);
  const at = lines.findIndex((line) => line.trim() === heading);
  if (at < 0) throw new Error(`${source} has no heading "${heading}" (the snippet the client is built from)`);
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  for (let i = at + 1; i < lines.length; i++) {
    const fence = /^(`{3,}|~{3,})/.exec(lines[i]);
    if (fence) {
      const end = lines.findIndex((line, j) => j > i && line.startsWith(fence[1]) && line.trim() === fence[1]);
      if (end < 0) throw new Error(`${source}: the code block under "${heading}" (line ${i + 1}) is never closed`);
      return `${lines.slice(i + 1, end).join('\n')}\n`;
    }
    const sub = /^(#+)\s/.exec(lines[i]);
    if (sub && sub[1].length <= level) break;
  }
  throw new Error(`${source}: the section "${heading}" has no code block`);
}

/** The `npm install …` lines of the section `heading` (default "## Installation"), each as argv after `npm`, comments dropped. */
export function extractInstallCommands(markdown: string, heading = '## Installation', source = 'the design'): string[][] {
  const block = extractSnippet(markdown, heading, source);
  const lines = block.split('\n').filter((l) => /^\s*npm (install|i)\s/.test(l));
  if (!lines.length) throw new Error(`${source}: the block under "${heading}" has no "npm install" line:\n${block}`);
  return lines.map((line) => line.replace(/\s#.*$/, '').trim().split(/\s+/).slice(1));
}
