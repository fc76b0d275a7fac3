import type { Permission } from '../accounts/permissions.js'
import { isLoopback } from '../actors/transport.js'

/** What anonymous clients (no `auth`) may do. */
export type AnonymousAccess = 'off' | 'read' | 'write'

/** The permissions each anonymous access level gives. */
export const ANONYMOUS_PERMISSIONS: Record<AnonymousAccess, readonly Permission[]> = {
  off: [],
  read: ['read'],
  write: ['read', 'upload', 'overwrite'],
}

export type PolicyDecision =
  | { readonly ok: true; readonly anonymous: AnonymousAccess }
  | { readonly ok: false; readonly reason: string }

/**
 * Safe by default: on loopback, clear text and anonymous access with every permission
 * (one machine, as the seed was); on any other address, TLS unless --insecure, and no
 * anonymous access unless --anonymous says so. Pure; the reason names the flag to use.
 */
export const decideServerPolicy = (options: {
  readonly host: string
  readonly tls: boolean
  readonly insecure: boolean
  readonly anonymous: AnonymousAccess | undefined
}): PolicyDecision => {
  const local = isLoopback(options.host)
  if (!local && !options.tls && !options.insecure) {
    return {
      ok: false,
      reason: `listening on ${options.host} is reachable from other machines: add --tls (a self-signed certificate is made on first start), or --insecure to serve clear text anyway`,
    }
  }
  return { ok: true, anonymous: options.anonymous ?? (local ? 'write' : 'off') }
}
