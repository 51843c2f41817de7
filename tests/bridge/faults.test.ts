import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as readline from 'node:readline';
import { startTestBridge, startMockRobot, connectController, leaseReady, until, TOKEN } from './helpers.ts';
import { BridgeError } from '../../bridge/controller-client.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const children: ChildProcess[] = [];
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  while (cleanup.length) await cleanup.pop()!();
});

function start(name: string, args: string[]): { child: ChildProcess; lines: string[]; next: (pred: (l: string) => boolean, timeoutMs?: number) => Promise<string> } {
  const child = spawn(process.execPath, [fixture(name), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  readline.createInterface({ input: child.stdout! }).on('line', (l) => { lines.push(l); for (const w of waiters.splice(0)) w(); });
  const next = async (pred: (l: string) => boolean, timeoutMs = 15_000): Promise<string> => {
    const t0 = Date.now();
    let seen = 0;
    for (;;) {
      for (; seen < lines.length; seen++) if (pred(lines[seen])) return lines[seen];
      if (Date.now() - t0 > timeoutMs) throw new Error(`${name}: timed out; got ${JSON.stringify(lines.slice(-5))}`);
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
    }
  };
  return { child, lines, next };
}

describe('faults with real processes', () => {
  it('killing the controller mid-motion holds the robot within 100 ms (50 ms watchdog)', async () => {
    const bridge = await startTestBridge({ config: { limits: { commandTimeoutMs: 50 } } });
    cleanup.push(() => bridge.close());
    const { robot, client } = await startMockRobot(bridge, 'arm');
    cleanup.push(() => client.stop());
    const ctl = start('controller-proc.ts', [bridge.url, TOKEN, 'arm']);
    await ctl.next((l) => l === 'moving');
    await until(() => robot.commands.length > 5, 5000, 'motion');
    const holds = robot.holds.length;
    const killedAt = performance.now();
    ctl.child.kill('SIGKILL');
    await until(() => robot.holds.length > holds, 2000, 'hold');
    const latency = robot.holds[holds] - killedAt;
    expect(latency).toBeLessThanOrEqual(100);
    // The hold may come from the 50 ms watchdog before the hub has read the dead socket's close;
    // the lease ends as soon as it does.
    await until(() => bridge.hub.robotList()[0].state.lease === null, 2000, 'the lease to end');
    expect(bridge.hub.robotList()[0].state).toMatchObject({ holding: true, lease: null });
  });

  it('restarting the robot process: the hub recovers and the robot stays stopped until leased', async () => {
    const bridge = await startTestBridge();
    cleanup.push(() => bridge.close());
    const first = start('robot-proc.ts', [bridge.url, bridge.robotToken('arm'), 'arm']);
    await first.next((l) => l.includes('"registered"'));
    const ctl = await connectController(bridge, 'ctl');
    cleanup.push(() => ctl.close());
    await leaseReady(ctl, 'arm');
    await ctl.command('arm', [0.1, 0, 0, 0, 0]);
    await first.next((l) => l.includes('"command"'));
    first.child.kill('SIGKILL');
    await until(() => bridge.hub.robotList()[0]?.state.connected === false, 5000, 'hub notices the robot is gone');
    const second = start('robot-proc.ts', [bridge.url, bridge.robotToken('arm'), 'arm']);
    await second.next((l) => l.includes('"registered"'));
    await second.next((l) => l.includes('"hold"'));
    await ctl.waitForRobot('arm');
    expect(bridge.hub.robotList()[0].state).toMatchObject({ connected: true, lease: null, holding: true });
    await expect(ctl.command('arm', [0.1, 0, 0, 0, 0])).rejects.toThrow(BridgeError);
    await new Promise((r) => setTimeout(r, 100));
    expect(second.lines.filter((l) => l.includes('"command"'))).toHaveLength(0);
    await leaseReady(ctl, 'arm');
    await ctl.command('arm', [0.1, 0, 0, 0, 0]);
    await second.next((l) => l.includes('"command"'));
  });
});
