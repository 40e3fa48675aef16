import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A bus of the reference daemon's own, in a directory of its own, for one test file. */
export interface PrivateBus {
  /** The directory that holds the bus socket, `bus`. */
  dir: string;
  address: string;
  stop(): void;
}

/** Starts dbus-daemon on a private session bus and waits for its address. */
export async function startPrivateBus(): Promise<PrivateBus> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-dbus-'));
  const daemon = spawn(
    'dbus-daemon',
    ['--session', '--nofork', '--nopidfile', `--address=unix:path=${join(dir, 'bus')}`, '--print-address=1'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const stop = () => {
    daemon.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let text = '';
      daemon.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text.trim());
      });
      daemon.once('error', reject);
      daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
    });
    return { dir, address, stop };
  } catch (error) {
    stop();
    throw error;
  }
}
