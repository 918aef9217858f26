import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../shared/constants';
import { startDevServer } from '../temporal/dev-server';

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
});
