export { CodecServerConfigError, isLoopback, startCodecServer } from './server';
export type { CodecServer, CodecServerOptions } from './server';
