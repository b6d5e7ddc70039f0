import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ChaosReport } from '../result.js';
import { renderHtml } from './html.js';

/** Writes report.json and the self-contained report.html; returns their paths. */
export function writeReports(report: ChaosReport, jsonPath: string, htmlPath: string): { json: string; html: string } {
  mkdirSync(dirname(jsonPath), { recursive: true });
  mkdirSync(dirname(htmlPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(htmlPath, renderHtml(report));
  return { json: jsonPath, html: htmlPath };
}
