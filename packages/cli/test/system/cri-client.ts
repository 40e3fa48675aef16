import { fileURLToPath } from 'node:url';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('./fixtures/cri-api.proto', import.meta.url));

type Unary = (
  request: object,
  options: { deadline: Date },
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => void;
type ServiceClient = grpc.Client & Record<string, Unary>;

/** A gRPC failure as the CRI reports it: the status code's name and the daemon's message. */
export class CriError extends Error {
  readonly code: string;
  constructor(error: grpc.ServiceError) {
    super(error.details || error.message);
    this.code = grpc.status[error.code] ?? String(error.code);
  }
}

/**
 * A CRI v1 client on a unix socket: `call('RunPodSandbox', {...})` for the runtime service,
 * `image('ImageStatus', {...})` for the image service. Enums come back as their names, 64-bit
 * integers as strings, bytes as Buffers (proto-loader's options below).
 */
export class CriClient {
  readonly #runtime: ServiceClient;
  readonly #images: ServiceClient;

  constructor(socket: string) {
    const definition = protoLoader.loadSync(PROTO, {
      keepCase: true,
      enums: String,
      longs: String,
      defaults: true,
    });
    const api = grpc.loadPackageDefinition(definition) as unknown as {
      runtime: { v1: Record<'RuntimeService' | 'ImageService', typeof grpc.Client> };
    };
    const credentials = grpc.credentials.createInsecure();
    this.#runtime = new api.runtime.v1.RuntimeService(`unix://${socket}`, credentials) as ServiceClient;
    this.#images = new api.runtime.v1.ImageService(`unix://${socket}`, credentials) as ServiceClient;
  }

  call<T = Record<string, unknown>>(method: string, request: object, timeoutMs = 60_000): Promise<T> {
    return invoke(this.#runtime, method, request, timeoutMs) as Promise<T>;
  }

  image<T = Record<string, unknown>>(method: string, request: object, timeoutMs = 60_000): Promise<T> {
    return invoke(this.#images, method, request, timeoutMs) as Promise<T>;
  }

  close(): void {
    this.#runtime.close();
    this.#images.close();
  }
}

function invoke(client: ServiceClient, method: string, request: object, timeoutMs: number): Promise<unknown> {
  const rpc = client[method];
  if (typeof rpc !== 'function') return Promise.reject(new Error(`no CRI method ${method}`));
  return new Promise((resolve, reject) => {
    rpc.call(client, request, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) =>
      error ? reject(new CriError(error)) : resolve(response),
    );
  });
}
