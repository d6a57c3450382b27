/** A one-line progress bar on stderr (redrawn in place on a terminal, one line per 10% elsewhere). */
export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): { tick(note?: string): void; done(): void } {
  let count = 0;
  let lastDecile = -1;
  const width = 30;
  const render = (note: string): void => {
    const ratio = total === 0 ? 1 : count / total;
    const filled = Math.round(ratio * width);
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count}/${total} ${note}`;
    if (stream.isTTY) stream.write(`\r${line.padEnd(100)}`);
    else if (Math.floor(ratio * 10) !== lastDecile || count === total) {
      lastDecile = Math.floor(ratio * 10);
      stream.write(`${line}\n`);
    }
  };
  render('');
  return {
    tick(note = '') {
      count += 1;
      render(note);
    },
    done() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}
