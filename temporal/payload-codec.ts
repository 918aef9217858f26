import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const CIPHER = 'aes-256-gcm';
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/**
 * Encrypts every Temporal payload with AES-256-GCM, so workflow inputs, results and failures in history are
 * unreadable without the key. The key id travels in the metadata so keys can be rotated.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(
    private readonly keyId: string,
    private readonly keys: ReadonlyMap<string, Buffer>,
  ) {
    const key = keys.get(keyId);
    if (key?.length !== 32) throw new Error(`payload key '${keyId}' must be 32 bytes`);
  }

  static fromKey(keyId: string, key: Buffer): AesGcmPayloadCodec {
    return new AesGcmPayloadCodec(keyId, new Map([[keyId, key]]));
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(
      payloads.map((payload) => {
        const key = this.keys.get(this.keyId) as Buffer;
        const iv = randomBytes(IV_LENGTH);
        const cipher = createCipheriv(CIPHER, key, iv);
        const plain = temporal.api.common.v1.Payload.encode(payload).finish();
        const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
        return {
          metadata: {
            encoding: Buffer.from(ENCODING),
            'encryption-key-id': Buffer.from(this.keyId),
          },
          data,
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(
      payloads.map((payload) => {
        if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== ENCODING) return payload;
        const keyId = Buffer.from(payload.metadata?.['encryption-key-id'] ?? []).toString();
        const key = this.keys.get(keyId);
        if (key === undefined) throw new Error(`no payload key with id '${keyId}'`);
        const data = Buffer.from(payload.data ?? []);
        const iv = data.subarray(0, IV_LENGTH);
        const tag = data.subarray(data.length - TAG_LENGTH);
        const decipher = createDecipheriv(CIPHER, key, iv);
        decipher.setAuthTag(tag);
        const plain = Buffer.concat([
          decipher.update(data.subarray(IV_LENGTH, data.length - TAG_LENGTH)),
          decipher.final(),
        ]);
        return temporal.api.common.v1.Payload.decode(plain);
      }),
    );
  }
}
