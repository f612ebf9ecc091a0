/**
 * What the docs generators (gen-*-docs.ts) share: writing the generated file, or with `--check` comparing
 * it with the committed one, and escaping text for a Markdown table cell.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface GeneratedDoc {
  /** Where the generated text goes. */
  readonly file: string;
  /** The file as the out-of-date message names it. */
  readonly shownAs: string;
  /** The generator, as the message tells the user to run it: `node <script>`. */
  readonly script: string;
}

/**
 * Writes `text` to the doc's file and returns 0; with `check`, writes nothing and returns 0 when the file
 * already holds exactly `text`, else 1 after saying on stderr that it is out of date (a missing file is).
 */
export function writeOrCheck(doc: GeneratedDoc, text: string, check: boolean): number {
  if (!check) {
    writeFileSync(doc.file, text);
    return 0;
  }
  if (existsSync(doc.file) && readFileSync(doc.file, 'utf8') === text) return 0;
  process.stderr.write(`${doc.shownAs} is out of date: run node ${doc.script}\n`);
  return 1;
}

/** Text for one Markdown table cell: a `|` would end the cell and a line break the row. */
export function tableCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}
