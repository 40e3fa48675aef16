import { describe, expect, it } from 'vitest';

import { lastErrorLine } from '../../src/client.js';
import { callbacksFor, handlerName } from '../../src/notify.js';
import { loadRpc } from '../../src/rpc.js';
import { compareVersions, parseVersion } from '../../src/version.js';

// Bytes written out by hand from CRIU's field numbers: a change to rpc.proto that moved a
// number would no longer produce them.
describe('rpc.proto on the wire', () => {
  it('encodes a dump request with the field numbers CRIU reads', async () => {
    const rpc = await loadRpc();
    const bytes = rpc.CriuReq.encode({
      type: rpc.CriuReqType.DUMP,
      opts: {
        imagesDirFd: 5,
        pid: 1234,
        leaveRunning: true,
        notifyScripts: true,
        lazyPages: true,
        orphanPtsMaster: true,
      },
    }).finish();
    // opts: 1=5, 2=1234, 3=true, 12=true, 48=true (tag 384), 50=true (tag 400)
    const opts = [0x08, 0x05, 0x10, 0xd2, 0x09, 0x18, 0x01, 0x60, 0x01, 0x80, 0x03, 0x01, 0x90, 0x03, 0x01];
    expect([...bytes]).toEqual([0x08, 0x01, 0x12, opts.length, ...opts]);
  });

  it('encodes the answer to a notification', async () => {
    const rpc = await loadRpc();
    const bytes = rpc.CriuReq.encode({ type: rpc.CriuReqType.NOTIFY, notifySuccess: false }).finish();
    expect([...bytes]).toEqual([0x08, 0x06, 0x18, 0x00]);
  });

  it('decodes a notification and a failed answer as CRIU sends them', async () => {
    const rpc = await loadRpc();
    const script = Buffer.from('post-restore');
    const notify = rpc.CriuResp.decode(
      Uint8Array.from([
        0x08,
        0x06,
        0x10,
        0x01,
        0x2a,
        script.length + 4,
        0x0a,
        script.length,
        ...script,
        0x10,
        0x2a,
      ]),
    );
    expect(notify).toMatchObject({
      type: rpc.CriuReqType.NOTIFY,
      success: true,
      notify: { script: 'post-restore', pid: 42 },
    });
    const message = Buffer.from('boom');
    const failed = rpc.CriuResp.decode(
      Uint8Array.from([0x08, 0x01, 0x10, 0x00, 0x38, 0x03, 0x4a, 4, ...message]),
    );
    expect(failed).toMatchObject({
      type: rpc.CriuReqType.DUMP,
      success: false,
      crErrno: 3,
      crErrmsg: 'boom',
    });
  });

  it('numbers request types as CRIU does', async () => {
    const rpc = await loadRpc();
    expect(rpc.CriuReqType).toMatchObject({
      DUMP: 1,
      RESTORE: 2,
      CHECK: 3,
      PRE_DUMP: 4,
      PAGE_SERVER: 5,
      NOTIFY: 6,
      FEATURE_CHECK: 9,
      VERSION: 10,
      SINGLE_PRE_DUMP: 13,
    });
  });
});

describe('helpers', () => {
  it('names notification callbacks in camelCase', () => {
    expect(handlerName('post-setup-namespaces')).toBe('postSetupNamespaces');
    expect(handlerName('orphan-pts-master')).toBe('orphanPtsMaster');
    const own = () => {};
    const any = () => {};
    expect(callbacksFor({ postDump: own, any }, 'post-dump')).toEqual([own, any]);
    expect(callbacksFor({ postDump: own }, 'pre-dump')).toEqual([]);
  });

  it('picks the most specific error line of a log', () => {
    const log = [
      'Error (criu/util.c:1533): rlimit: cannot raise',
      '(00.1) Warn (x.c:1): meh',
      'Error (compel/src/lib/infect.c:418): Unable to detach from 99: No such process',
      'Error (criu/cr-dump.c:2111): Dumping FAILED.',
    ];
    expect(lastErrorLine(log)).toBe('Unable to detach from 99: No such process');
    expect(lastErrorLine(['all fine'])).toBeUndefined();
  });

  it('parses and compares versions', () => {
    expect(parseVersion('v', '4.1.1')).toEqual({ major: 4, minor: 1, sublevel: 1 });
    expect(compareVersions(parseVersion('v', '3.19'), parseVersion('v', '4.0'))).toBeLessThan(0);
    expect(() => parseVersion('minimumVersion', 'four')).toThrow(
      'minimumVersion: expected a version like 4.1',
    );
  });
});
