/** JSON-lines logging with pino (one line per event, cheap enough for the hot path). */
import { destination, pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous, as Node's own stdout is on Linux pipes and files: pino's default asynchronous
    // writer hands a line to a worker thread, and a line still there when the process exits is
    // lost (seen: the `stopped` line after a drain). The gateway logs events, not requests, so
    // a write per line costs nothing on the hot path.
    destination({ dest: 1, sync: true }),
  );
}
