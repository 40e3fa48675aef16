import { connect, type Socket } from 'node:net';

import { decodeMessage, encodeMessage, MESSAGE_TYPE, type Message, messageLength } from './message.js';

/** The system bus, where systemd's manager listens, unless the environment points elsewhere. */
export const SYSTEM_BUS_ADDRESS = 'unix:path=/run/dbus/system_bus_socket';

/** An error reply (`org.freedesktop.DBus.Error.*`, `org.freedesktop.systemd1.*`), or a broken connection. */
export class DBusError extends Error {
  /** The D-Bus error name, e.g. `org.freedesktop.systemd1.NoSuchUnit`. */
  readonly type: string;

  constructor(type: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DBusError';
    this.type = type;
  }
}

export interface MethodCall {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

/** The socket path of a `unix:` bus address (`path=` or `abstract=`; the first usable entry). */
export function socketPathOf(address: string): string {
  for (const entry of address.split(';')) {
    const [transport, params = ''] = entry.split(/:(.*)/s) as [string, string?];
    if (transport !== 'unix') continue;
    const pairs = new Map(
      params.split(',').map((pair) => {
        const eq = pair.indexOf('=');
        return [pair.slice(0, eq), decodeURIComponent(pair.slice(eq + 1))] as const;
      }),
    );
    if (pairs.has('path')) return pairs.get('path')!;
    if (pairs.has('abstract')) return `\0${pairs.get('abstract')}`;
  }
  throw new DBusError(
    'org.freedesktop.DBus.Error.BadAddress',
    `no unix socket in D-Bus address "${address}"`,
  );
}

type Pending = { resolve: (message: Message) => void; reject: (error: Error) => void };

/**
 * One authenticated connection to a message bus: method calls with their replies, and the
 * signals its match rules let through. SASL EXTERNAL only, as for a local system bus.
 */
export class DBusConnection {
  #socket: Socket;
  #serial = 0;
  #pending = new Map<number, Pending>();
  #buffered: Buffer = Buffer.alloc(0);
  #closed: Error | undefined;
  #signalHandlers = new Set<(message: Message) => void>();
  #methodHandler: ((message: Message) => void) | undefined;
  #holds = 0;
  /** The unique name the bus gave this connection (":1.42"). */
  uniqueName = '';

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  /**
   * Connects, authenticates and says Hello. The uid is this process's unless given: a process in
   * a user namespace is known to a bus outside it by the id it has there.
   */
  static async open(
    address = process.env.DBUS_SYSTEM_BUS_ADDRESS || SYSTEM_BUS_ADDRESS,
    uid = process.getuid?.() ?? 0,
  ): Promise<DBusConnection> {
    const path = socketPathOf(address);
    // A user's systemd is on the session bus, which the caller names by its address.
    const bus =
      address === (process.env.DBUS_SYSTEM_BUS_ADDRESS || SYSTEM_BUS_ADDRESS) ? 'system bus' : 'bus';
    const socket = connect(path);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      await authenticate(socket, uid);
    } catch (error) {
      socket.destroy();
      const code = (error as NodeJS.ErrnoException).code;
      throw new DBusError(
        'org.freedesktop.DBus.Error.NoServer',
        `cannot connect to the D-Bus ${bus} at ${path.replace('\0', '@')}: ${code ?? (error as Error).message}`,
        { cause: error },
      );
    }
    const connection = new DBusConnection(socket);
    connection.#listen();
    socket.unref();
    const [name] = (await connection.call({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'Hello',
    })) as [string];
    connection.uniqueName = name;
    return connection;
  }

  #listen(): void {
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffered = this.#buffered.length ? Buffer.concat([this.#buffered, chunk]) : chunk;
      try {
        for (;;) {
          const length = messageLength(this.#buffered);
          if (length === undefined || this.#buffered.length < length) break;
          const message = decodeMessage(this.#buffered.subarray(0, length));
          this.#buffered = this.#buffered.subarray(length);
          this.#dispatch(message);
        }
      } catch (error) {
        this.#fail(new DBusError('org.freedesktop.DBus.Error.InvalidMessage', (error as Error).message));
        this.#socket.destroy();
      }
    });
    this.#socket.on('error', (error) => this.#fail(error));
    this.#socket.on('close', () =>
      this.#fail(new DBusError('org.freedesktop.DBus.Error.Disconnected', 'the D-Bus connection closed')),
    );
  }

  #dispatch(message: Message): void {
    if (message.type === MESSAGE_TYPE.signal) {
      for (const handler of this.#signalHandlers) handler(message);
      return;
    }
    if (message.type === MESSAGE_TYPE.methodCall) {
      this.#methodHandler?.(message);
      return;
    }
    if (message.replySerial === undefined) return;
    const pending = this.#pending.get(message.replySerial);
    if (!pending) return;
    this.#pending.delete(message.replySerial);
    if (message.type === MESSAGE_TYPE.error) {
      const text = typeof message.body?.[0] === 'string' ? (message.body[0] as string) : message.errorName!;
      pending.reject(new DBusError(message.errorName ?? 'org.freedesktop.DBus.Error.Failed', text));
    } else {
      pending.resolve(message);
    }
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  /** Calls a method and resolves with its reply's body; an error reply rejects with a DBusError. */
  call(call: MethodCall): Promise<unknown[]> {
    return this.hold(async () => {
      if (this.#closed) throw this.#closed;
      const serial = ++this.#serial;
      const bytes = encodeMessage({ type: MESSAGE_TYPE.methodCall, serial, ...call });
      const reply = new Promise<Message>((resolve, reject) => this.#pending.set(serial, { resolve, reject }));
      this.#socket.write(bytes);
      return (await reply).body ?? [];
    });
  }

  /**
   * Keeps the process alive while `work` runs (a call, or a wait for a signal); between them an
   * idle connection does not hold a short-lived command open.
   */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    if (this.#holds++ === 0) this.#socket.ref();
    try {
      return await work();
    } finally {
      if (--this.#holds === 0) this.#socket.unref();
    }
  }

  /** Receives every signal the bus delivers to this connection; returns the way to stop. */
  onSignal(handler: (message: Message) => void): () => void {
    this.#signalHandlers.add(handler);
    return () => this.#signalHandlers.delete(handler);
  }

  /** Asks the bus to deliver the signals a match rule describes. */
  async addMatch(rule: string): Promise<void> {
    await this.call({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: [rule],
    });
  }

  /** Replies to a method call this connection received (for services, and for tests). */
  reply(to: Message, signature: string, body: unknown[]): void {
    this.#socket.write(
      encodeMessage({
        type: MESSAGE_TYPE.methodReturn,
        serial: ++this.#serial,
        replySerial: to.serial,
        ...(to.sender ? { destination: to.sender } : {}),
        signature,
        body,
      }),
    );
  }

  /** Sends a signal from this connection (for services, and for tests). */
  emit(signal: Omit<MethodCall, 'destination'>): void {
    this.#socket.write(encodeMessage({ type: MESSAGE_TYPE.signal, serial: ++this.#serial, ...signal }));
  }

  /** Method calls addressed to this connection (for services, and for tests). */
  onMethodCall(handler: (message: Message) => void): void {
    this.#methodHandler = handler;
  }

  close(): void {
    this.#fail(new DBusError('org.freedesktop.DBus.Error.Disconnected', 'the D-Bus connection was closed'));
    this.#socket.end();
    this.#socket.destroy();
  }
}

/** SASL EXTERNAL: the bus checks our uid on the socket itself. */
async function authenticate(socket: Socket, uid: number): Promise<void> {
  const identity = Buffer.from(String(uid)).toString('hex');
  const answer = (): Promise<string> =>
    new Promise((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString('latin1');
        const end = text.indexOf('\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.off('error', reject);
        // Bytes after the line belong to the message stream; the bus sends none before BEGIN.
        resolve(text.slice(0, end));
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
  socket.write(`\0AUTH EXTERNAL ${identity}\r\n`);
  const line = await answer();
  if (!line.startsWith('OK ')) throw new Error(`the bus refused authentication: ${line}`);
  socket.write('BEGIN\r\n');
}
