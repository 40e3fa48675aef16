import { binding } from './binding.js';

/** The netlink family of the routing subsystem (links, addresses, routes). */
export const NETLINK_ROUTE = 0;

/**
 * A bound, non-blocking, close-on-exec netlink socket. Given the descriptor of a network
 * namespace, the socket is made inside that namespace (on a private thread that entered it) and
 * stays bound to it; the calling thread never leaves its own namespace. Extended acks and strict
 * dump checking are turned on where the kernel has them. The caller owns the descriptor.
 */
export function openNetlinkSocket(protocol: number, netnsFd?: number): number {
  return binding().netlinkSocket(protocol, netnsFd ?? -1);
}

/**
 * Makes a new network namespace and keeps it alive by bind-mounting it on `path`, which must be
 * an existing file. Nothing joins it: the namespace is made on a thread that then ends.
 */
export function mountNewNetns(path: string): void {
  binding().netnsCreate(path);
}

/** Detaches the mount that keeps a namespace alive (the file stays; unlink it afterwards). */
export function unmountNetns(path: string): void {
  binding().netnsUnmount(path);
}

/**
 * Makes `dir` a shared mount point (bind-mounted on itself first when it is not one), so that a
 * namespace unmounted under it is unmounted in every mount namespace that copied it.
 */
export function makeSharedMount(dir: string): void {
  binding().mountMakeShared(dir);
}

/**
 * The CLONE_NEW* type of the namespace file at `path` (a /proc/PID/ns link or a bind mount of
 * one, as `ip netns add` makes), or 0 when the file is not a namespace. Throws when it cannot
 * be opened.
 */
export function namespaceType(path: string): number {
  return binding().namespaceType(path);
}
