/** The steps CRIU announces when notifications are on, in CRIU's names. */
export type CriuNotificationName =
  | 'pre-dump'
  | 'post-dump'
  | 'pre-restore'
  | 'post-restore'
  | 'network-lock'
  | 'network-unlock'
  | 'setup-namespaces'
  | 'post-setup-namespaces'
  | 'pre-resume'
  | 'post-resume'
  | 'orphan-pts-master'
  | 'status-ready';

export interface CriuNotification {
  name: CriuNotificationName | (string & {});
  /** The restored tree's root pid (setup-namespaces, post-restore). */
  pid?: number;
  /**
   * A descriptor CRIU sent with the notification (orphan-pts-master: the pty master). It
   * belongs to the callback, which must close it; the client closes it when no callback is set.
   */
  fd?: number;
}

/** Settles when the caller is done with the step; rejecting stops the operation. */
export type CriuNotifyCallback = (notification: CriuNotification) => unknown;

/** Callbacks for CRIU's steps. CRIU waits at each step until its callback has settled. */
export interface CriuNotifyHandlers {
  preDump?: CriuNotifyCallback;
  postDump?: CriuNotifyCallback;
  preRestore?: CriuNotifyCallback;
  postRestore?: CriuNotifyCallback;
  networkLock?: CriuNotifyCallback;
  networkUnlock?: CriuNotifyCallback;
  setupNamespaces?: CriuNotifyCallback;
  postSetupNamespaces?: CriuNotifyCallback;
  preResume?: CriuNotifyCallback;
  postResume?: CriuNotifyCallback;
  orphanPtsMaster?: CriuNotifyCallback;
  statusReady?: CriuNotifyCallback;
  /** Called for every step, after the step's own callback. */
  any?: CriuNotifyCallback;
}

/** `post-setup-namespaces` -> `postSetupNamespaces`. */
export function handlerName(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** The callbacks to run for one notification, in order. */
export function callbacksFor(handlers: CriuNotifyHandlers | undefined, name: string): CriuNotifyCallback[] {
  if (!handlers) return [];
  const own = (handlers as Record<string, CriuNotifyCallback | undefined>)[handlerName(name)];
  return [own, handlers.any].filter(
    (callback): callback is CriuNotifyCallback => typeof callback === 'function',
  );
}
