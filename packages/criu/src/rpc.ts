import type { criu } from './generated/rpc.js';

/** The generated messages and enums, under CRIU's package name. */
export type RpcModule = typeof criu;

let loading: Promise<RpcModule> | undefined;

/**
 * The generated encoders and decoders, and with them protobufjs, loaded on first use so that
 * importing this package costs nothing until CRIU is actually asked for something.
 */
export function loadRpc(): Promise<RpcModule> {
  loading ??= import('./generated/rpc.js')
    .then((module) => module.criu)
    .catch((error: unknown) => {
      loading = undefined;
      if (
        (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
        String(error).includes('generated')
      ) {
        throw new Error(
          '@corral/criu: the generated protobuf code (src/generated/rpc.js) is missing; ' +
            'build the package first: pnpm --filter @corral/criu build',
          { cause: error },
        );
      }
      throw error;
    });
  return loading;
}
