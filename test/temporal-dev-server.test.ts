import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporalCliPath } from '../config';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows';
import { startDevServer } from '../temporal';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the Temporal dev server helper', () => {
  it('starts a real server on a free port with our search attributes, and stops it without leaving a process', async () => {
    const server = await startDevServer({ mode: 'test' });
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.uiUrl).toBeUndefined();
    const connection = await Connection.connect({ address: server.address });
    try {
      const attributes = await connection.operatorService.listSearchAttributes({
        namespace: server.namespace,
      });
      for (const name of Object.keys(SEARCH_ATTRIBUTE_TYPES))
        expect(Object.keys(attributes.customAttributes ?? {})).toContain(name);
    } finally {
      await connection.close();
    }
    expect(alive(server.pid)).toBe(true);
    await server.stop();
    expect(alive(server.pid)).toBe(false);
  });

  it('names the reason from the server output when it cannot start, without leaving a process', async () => {
    // Accepts and never answers, like any other program on that port.
    const sockets = new Set<net.Socket>();
    const taken = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const output: string[] = [];
    try {
      await expect(
        startDevServer({ mode: 'test', port, onOutput: (line) => output.push(line) }),
      ).rejects.toThrow(/exited with code \d+ before serving[\s\S]*address already in use/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => taken.close(resolve));
    }
    // A fixed port is tried again (it may be free a moment later), three times in all.
    expect(output.filter((line) => line.includes('trying again'))).toHaveLength(2);
    expect(spawnSync('pgrep', ['-f', `start-dev --ip 127.0.0.1 --port ${port} `]).status).toBe(1);
  });

  it('starts again on fresh ports when the server exits before it serves', async () => {
    // A CLI that fails its first start the way a port taken in the meantime makes it fail, then runs the real one.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oppsync-cli-'));
    const marker = path.join(dir, 'failed-once');
    const wrapper = path.join(dir, 'temporal');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ ! -e '${marker}' ]; then touch '${marker}'; echo 'bind: address already in use' >&2; exit 2; fi\nexec '${temporalCliPath()}' "$@"\n`,
      { mode: 0o755 },
    );
    const output: string[] = [];
    process.env.TEMPORAL_CLI_PATH = wrapper;
    try {
      const server = await startDevServer({ mode: 'test', onOutput: (line) => output.push(line) });
      await server.stop();
      expect(alive(server.pid)).toBe(false);
    } finally {
      delete process.env.TEMPORAL_CLI_PATH;
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(output).toContainEqual(
      expect.stringMatching(/exited with code 2 before serving[\s\S]*address already in use.*trying again/),
    );
  });
});
