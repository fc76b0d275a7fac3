import { Flags } from '@oclif/core'

export const clientFlags = {
  host: Flags.string({ description: 'Tor-Server address', default: '127.0.0.1', env: 'TOR_HOST' }),
  port: Flags.integer({ description: 'Tor-Server port', default: 7777, min: 1, max: 65535, env: 'TOR_PORT' }),
  dir: Flags.string({
    description: 'local folder: downloads go to <dir>/Downloads, uploads are read from <dir>/Uploads',
    default: './tor-files',
    env: 'TOR_CLIENT_DIR',
  }),
  timeout: Flags.integer({
    description: 'seconds the server may stay silent during a command before it fails (TOR_ERR_TIMEOUT)',
    default: 60,
    min: 1,
    env: 'TOR_TIMEOUT',
  }),
}
