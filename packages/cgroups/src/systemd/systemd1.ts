import { DBusConnection, DBusError } from './dbus/connection.js';
import type { Message } from './dbus/message.js';
import { Variant } from './dbus/wire.js';

const SERVICE = 'org.freedesktop.systemd1';
const OBJECT = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
/** How long systemd may take over one job before we give up on it, as runc waits. */
const JOB_TIMEOUT_MS = 30_000;
/** Every job on the host is announced; keep the few latest that no one waits for yet. */
const UNCLAIMED_JOBS = 64;

/** A unit property as StartTransientUnit and SetUnitProperties take it. */
export type UnitPropertyValue = [name: string, value: Variant];

/**
 * systemd's manager on the system bus: the calls a container runtime makes, each waiting for
 * its job to finish (the JobRemoved signal) as runc does.
 */
export class Systemd1 {
  readonly #bus: DBusConnection;
  /** Results of jobs that ended, by job path, until someone asks for them. */
  readonly #finished = new Map<string, string>();
  readonly #waiters = new Map<string, (result: string) => void>();
  #version: number | undefined;

  private constructor(bus: DBusConnection) {
    this.#bus = bus;
    bus.onSignal((message) => this.#jobRemoved(message));
  }

  static async connect(address?: string, uid?: number): Promise<Systemd1> {
    const bus = await DBusConnection.open(address, uid);
    try {
      // Before any job starts, so that no JobRemoved can slip past.
      await bus.addMatch(
        `type='signal',sender='${SERVICE}',path='${OBJECT}',interface='${MANAGER}',member='JobRemoved'`,
      );
    } catch (error) {
      bus.close();
      throw error;
    }
    return new Systemd1(bus);
  }

  close(): void {
    this.#bus.close();
  }

  #jobRemoved(message: Message): void {
    if (message.member !== 'JobRemoved' || message.interface !== MANAGER) return;
    const [, job, , result] = message.body as [number, string, string, string];
    const waiter = this.#waiters.get(job);
    if (waiter) {
      waiter(result);
      return;
    }
    // Our job's signal can come in the same read as the reply that names it, before anyone
    // waits for it; other clients' jobs end here too.
    this.#finished.set(job, result);
    if (this.#finished.size > UNCLAIMED_JOBS) this.#finished.delete(this.#finished.keys().next().value!);
  }

  /** Resolves with the job's result ("done", "failed", "canceled", "timeout", ...). */
  #waitForJob(job: string, what: string): Promise<string> {
    const known = this.#finished.get(job);
    if (known !== undefined) {
      this.#finished.delete(job);
      return Promise.resolve(known);
    }
    return this.#bus.hold(
      () =>
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.#waiters.delete(job);
            reject(
              new DBusError('org.freedesktop.DBus.Error.Timeout', `timed out waiting for systemd to ${what}`),
            );
          }, JOB_TIMEOUT_MS);
          this.#waiters.set(job, (result) => {
            clearTimeout(timer);
            this.#waiters.delete(job);
            resolve(result);
          });
        }),
    );
  }

  #manager(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    return this.#bus.call({
      destination: SERVICE,
      path: OBJECT,
      interface: MANAGER,
      member,
      signature,
      body,
    });
  }

  /** StartTransientUnit in "replace" mode; resolves once the unit runs, rejects with systemd's reason. */
  async startTransientUnit(name: string, properties: readonly UnitPropertyValue[]): Promise<void> {
    const [job] = (await this.#manager('StartTransientUnit', 'ssa(sv)a(sa(sv))', [
      name,
      'replace',
      properties,
      [],
    ])) as [string];
    const result = await this.#waitForJob(job, `create ${name}`);
    if (result !== 'done') {
      throw new DBusError(
        'org.freedesktop.systemd1.JobFailed',
        `systemd could not start ${name}: the job ended "${result}"`,
      );
    }
  }

  /** StopUnit and wait; a unit that is not loaded is already stopped. */
  async stopUnit(name: string): Promise<string> {
    let job: string;
    try {
      [job] = (await this.#manager('StopUnit', 'ss', [name, 'replace'])) as [string];
    } catch (error) {
      if (error instanceof DBusError && error.type === 'org.freedesktop.systemd1.NoSuchUnit') return 'done';
      throw error;
    }
    return this.#waitForJob(job, `stop ${name}`);
  }

  /** Forgets a failed unit, so that its name can be used again; no error if there is nothing to reset. */
  async resetFailedUnit(name: string): Promise<void> {
    try {
      await this.#manager('ResetFailedUnit', 's', [name]);
    } catch (error) {
      if (!(error instanceof DBusError)) throw error;
      if (
        error.type !== 'org.freedesktop.systemd1.NoSuchUnit' &&
        error.type !== 'org.freedesktop.DBus.Error.InvalidArgs'
      )
        throw error;
    }
  }

  /** SetUnitProperties with runtime=true: until the unit goes, as runc sets them. */
  async setUnitProperties(name: string, properties: readonly UnitPropertyValue[]): Promise<void> {
    if (properties.length === 0) return;
    await this.#manager('SetUnitProperties', 'sba(sv)', [name, true, properties]);
  }

  /** The loaded unit's object path, or undefined when systemd has no such unit loaded. */
  async unitPath(name: string): Promise<string | undefined> {
    try {
      const [path] = (await this.#manager('GetUnit', 's', [name])) as [string];
      return path;
    } catch (error) {
      if (error instanceof DBusError && error.type === 'org.freedesktop.systemd1.NoSuchUnit')
        return undefined;
      throw error;
    }
  }

  /** systemd's version number (252 for "252.19-1~deb12u1"); some properties need a newer one. */
  async version(): Promise<number> {
    if (this.#version === undefined) {
      const [value] = (await this.#bus.call({
        destination: SERVICE,
        path: OBJECT,
        interface: 'org.freedesktop.DBus.Properties',
        member: 'Get',
        signature: 'ss',
        body: [MANAGER, 'Version'],
      })) as [Variant<string>];
      this.#version = systemdVersionNumber(value.value);
    }
    return this.#version;
  }
}

/** The leading number of a systemd version string: "v245.4-1.fc32" and "252.19-1~deb12u1" alike. */
export function systemdVersionNumber(text: string): number {
  const match = /^"?v?(\d+)/.exec(text);
  return match ? Number(match[1]) : -1;
}

export { Variant };
