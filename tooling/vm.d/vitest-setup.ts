import { existsSync } from 'node:fs';

/** The vm project's tests need the test VM's guest (a systemd host on cgroup v2); say so plainly elsewhere. */
export default function setup(): void {
  if (!existsSync('/etc/corral-test-vm')) {
    throw new Error(
      'the vm tests run inside the test VM, on cgroup v2 with systemd: ./tooling/pnpm test:vm (or ./tooling/vm run -- ...)',
    );
  }
}
