export {
  type CriuCallOptions,
  CriuClient,
  type CriuClientOptions,
  type CriuFeatureSet,
  type CriuOperationOptions,
  type CriuPageServerResult,
  type CriuRestoreResult,
  MINIMUM_CRIU_VERSION,
  resolveCriuBinary,
} from './client.js';
export {
  CriuError,
  type CriuErrorCode,
  CriuOptionError,
  type CriuRequestName,
  errnoName,
} from './errors.js';
export { CriuLazyPages } from './lazy-pages.js';
export type {
  CriuNotification,
  CriuNotificationName,
  CriuNotifyCallback,
  CriuNotifyHandlers,
} from './notify.js';
export type {
  CgroupMode,
  CgroupRootMapping,
  CriuBaseOptions,
  CriuDumpOptions,
  CriuLazyPagesOptions,
  CriuLogLevel,
  CriuPageServerOptions,
  CriuRestoreOptions,
  EmptyNamespace,
  InheritedFd,
  PageServerAddress,
  VethPair,
} from './options.js';
export type { CriuBinary, CriuExit } from './swrk.js';
export type { CriuVersion, VersionNumber } from './version.js';
