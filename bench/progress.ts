// The progress line on stderr: rewritten in place on a terminal, a line every few seconds
// otherwise (CI logs).

import type { Progress } from './suite.ts';

export function progressLine(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY;
  const started = performance.now();
  let phase = '';
  let lastPrint = 0;
  let line = '';
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)}s`;
  const show = (text: string, force: boolean): void => {
    if (tty) {
      const width = Math.max(20, (stream.columns || 100) - 1);
      line = text.length > width ? text.slice(0, width) : text;
      stream.write(`\r\x1b[2K${line}`);
      return;
    }
    const now = performance.now();
    if (force || now - lastPrint > 5000) {
      lastPrint = now;
      stream.write(`${text}\n`);
    }
  };
  return {
    phase(text) {
      phase = text;
      show(`[${elapsed()}] ${phase}`, true);
    },
    calls(done, total, failed, elapsedS, durationS) {
      const fraction = Math.min(
        1,
        durationS > 0 ? Math.max(done / total, elapsedS / durationS) : done / total,
      );
      const bar = Number.isFinite(fraction) ? Math.round(fraction * 20) : 0;
      const clock = durationS > 0 ? `, ${elapsedS.toFixed(1)}/${durationS} s` : '';
      show(
        `[${elapsed()}] ${phase} [${'#'.repeat(bar)}${'.'.repeat(20 - bar)}] ${done}/${total} calls${clock}${failed > 0 ? `, ${failed} failed` : ''}`,
        false,
      );
    },
    done() {
      if (tty && line !== '') stream.write('\r\x1b[2K');
      stream.write(`done in ${elapsed()}\n`);
    },
  };
}
