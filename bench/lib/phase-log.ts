/** One line per phase on stderr, stamped with the seconds since the benchmark began. */
export interface PhaseLog {
  (message: string): void;
  elapsedSec(): number;
}

export function createPhaseLog(stream: NodeJS.WriteStream = process.stderr): PhaseLog {
  const startedAt = performance.now();
  const elapsedSec = (): number => (performance.now() - startedAt) / 1000;
  const log = (message: string): void => {
    stream.write(`[bench ${elapsedSec().toFixed(1).padStart(6)}s] ${message}\n`);
  };
  return Object.assign(log, { elapsedSec });
}
