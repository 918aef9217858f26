/** The emulator's self-signed certificate (CA-like, valid for localhost and 127.0.0.1), optionally kept on disk. */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface EmulatorCertificate {
  cert: string;
  key: string;
  /** File holding `cert`, for NODE_EXTRA_CA_CERTS of child processes. */
  certFile: string;
  /** Directory created for this run only (removed on close); undefined when `certDir` was given. */
  tempDir?: string;
}

async function createCertificate(commonName: string): Promise<{ cert: string; key: string }> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + 2 * 365 * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * `commonName` tells the emulators' certificates apart: two trusted CAs with one subject (NODE_EXTRA_CA_CERTS
 * holding both) would make OpenSSL try only the first.
 */
export async function loadOrCreateCertificate(
  certDir?: string,
  commonName = 'oppsync Dataverse emulator',
): Promise<EmulatorCertificate> {
  if (certDir) {
    const certFile = join(certDir, 'emulator-cert.pem');
    const keyFile = join(certDir, 'emulator-key.pem');
    if (existsSync(certFile) && existsSync(keyFile)) {
      return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8'), certFile };
    }
    await mkdir(certDir, { recursive: true });
    const created = await createCertificate(commonName);
    await writeFile(certFile, created.cert);
    await writeFile(keyFile, created.key, { mode: 0o600 });
    return { ...created, certFile };
  }
  const tempDir = await mkdtemp(join(tmpdir(), 'oppsync-emulator-'));
  const created = await createCertificate(commonName);
  const certFile = join(tempDir, 'ca.pem');
  await writeFile(certFile, created.cert);
  return { ...created, certFile, tempDir };
}
