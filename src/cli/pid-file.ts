/**
 * `--pid-file FILE`: where logrotate (and other tools) find the gateway's pid to signal it.
 *
 * The pid is written to a temporary file beside FILE before the gateway starts, so a path that cannot be
 * written fails the start before anything listens; it is renamed into place only once the gateway serves
 * and its signal handlers are attached, because SIGUSR2's default action would end a process that has none
 * yet. The rename is atomic: a reader never sees a half-written pid. At exit the file is removed, unless
 * another process has written its own pid there since.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { GatewayError } from '../errors.ts';

export interface PidFile {
  /** Moves the pid into place at FILE. */
  publish(): void;
}

export function preparePidFile(file: string): PidFile {
  const pid = `${process.pid}\n`;
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, pid, { mode: 0o644 });
  } catch (error) {
    throw new GatewayError('GW_ERR_USAGE', `--pid-file ${file}: cannot write it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  process.once('exit', () => {
    rmSync(temp, { force: true });
    try {
      if (readFileSync(file, 'utf8') === pid) rmSync(file, { force: true });
    } catch { /* already gone */ }
  });
  return {
    publish: () => renameSync(temp, file),
  };
}
