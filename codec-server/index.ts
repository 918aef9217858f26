export { DEFAULT_UI_ORIGINS, startCodecServer } from './server';
export type { CodecServer, CodecServerOptions } from './server';
