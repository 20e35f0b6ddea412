/**
 * The last lines a child wrote to stderr, bounded in lines and in characters per line, so a
 * chatty or hostile upstream cannot grow the gateway's memory.
 */
export class BoundedLog {
  readonly #lines: string[] = [];
  readonly #maxLines: number;
  readonly #maxLineLength: number;
  #partial = '';
  /** Complete lines ever appended (kept or dropped). */
  #total = 0;

  constructor(maxLines = 200, maxLineLength = 2_000) {
    this.#maxLines = maxLines;
    this.#maxLineLength = maxLineLength;
  }

  append(text: string): void {
    const parts = (this.#partial + text).split('\n');
    this.#partial = (parts.pop() ?? '').slice(0, this.#maxLineLength);
    for (const line of parts) this.#push(line);
  }

  #push(line: string): void {
    this.#total++;
    this.#lines.push(line.length > this.#maxLineLength ? `${line.slice(0, this.#maxLineLength)}…` : line);
    if (this.#lines.length > this.#maxLines) this.#lines.splice(0, this.#lines.length - this.#maxLines);
  }

  /** The kept lines, oldest first, including an unterminated last line. */
  lines(): string[] {
    return this.#partial ? [...this.#lines, this.#partial] : [...this.#lines];
  }

  /** A mark for `since`: how many complete lines were appended so far. */
  mark(): number {
    return this.#total;
  }

  /** The kept lines appended after `mark` (the unterminated last one included), oldest first. */
  since(mark: number): string[] {
    const fresh = Math.min(this.#total - mark, this.#lines.length);
    const lines = fresh > 0 ? this.#lines.slice(-fresh) : [];
    return this.#partial ? [...lines, this.#partial] : lines;
  }
}
