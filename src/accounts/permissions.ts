/** What an account may do: `read` (show, search, download), `upload` (new names), `overwrite` (replace a name). */
export type Permission = 'read' | 'upload' | 'overwrite'
export const PERMISSIONS: readonly Permission[] = ['read', 'upload', 'overwrite']

/** Who a session is: an account, or anonymous with the server's anonymous permissions. */
export interface Identity {
  readonly account: string | undefined
  readonly permissions: readonly Permission[]
}
