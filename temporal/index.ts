/** Temporal plumbing: the connection and data converter, the payload codec and its server, the dev server. */
export { connectClient, dataConverter, temporalConnectionOptions } from './connection';
export { AesGcmPayloadCodec } from './payload-codec';
export { CodecServerConfigError, isLoopback, startCodecServer } from './codec-server';
export type { CodecServer, CodecServerOptions } from './codec-server';
export { freePort, startDevServer } from './dev-server';
export type { DevServer, DevServerOptions } from './dev-server';
export {
  ensureSearchAttributes,
  registrationCommands,
  SearchAttributesError,
  type SearchAttributeOperator,
} from './search-attributes';
